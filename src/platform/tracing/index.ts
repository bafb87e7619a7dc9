/**
 * Distributed tracing with OpenTelemetry. Each service (they may share a process) has its own
 * tracer provider, so its spans carry `service.name`; all share one AsyncLocalStorage context
 * manager and the W3C Trace Context propagator (`traceparent` on every service call, injected by
 * the HTTP transport and extracted by the service app).
 *
 * Sampling: a span with a parent follows it (so one decision holds for a whole run across the
 * services); a root span is kept with the probability in its `agentstore.sample_rate` attribute,
 * else the configured default. The gateway starts each run as a root span with its instance's
 * `observability.traceSampleRate` (run-span.ts), so a rate of 0 exports nothing of that run.
 *
 * Without OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nothing is recorded: the tracers are the API's no-op.
 */
import { context, propagation, trace, type Attributes, type Context, type Link, type SpanKind, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SamplingDecision, type Sampler, type SamplingResult, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/sections/tracing';

export const SAMPLE_RATE_ATTRIBUTE = 'agentstore.sample_rate';

/** Keeps a root span with probability `agentstore.sample_rate` (else `defaultRate`), by its trace id. */
export class InstanceRateSampler implements Sampler {
  constructor(private readonly defaultRate: number) {}
  shouldSample(ctx: Context, traceId: string, _name: string, _kind: SpanKind, attributes: Attributes, _links: Link[]): SamplingResult {
    const parent = trace.getSpanContext(ctx);
    if (parent && trace.isSpanContextValid(parent)) {
      return { decision: parent.traceFlags & 1 ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
    }
    const raw = attributes[SAMPLE_RATE_ATTRIBUTE];
    const rate = typeof raw === 'number' && raw >= 0 && raw <= 1 ? raw : this.defaultRate;
    return { decision: keep(traceId, rate) ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
  }
  toString() {
    return `InstanceRateSampler{default=${this.defaultRate}}`;
  }
}

/** Deterministic by trace id (the low 8 hex digits), as TraceIdRatioBased samplers are. */
export function keep(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return parseInt(traceId.slice(-8), 16) / 0x1_0000_0000 < rate;
}

interface TracingState {
  config: TracingConfig;
  providers: Map<string, BasicTracerProvider>;
  processors: SpanProcessor[];
}

let state: TracingState | undefined;
const propagator = new W3CTraceContextPropagator();
let contextReady = false;

/** Sets tracing up for this process (idempotent per endpoint); without an endpoint tracing stays off. */
export function initTracing(config: TracingConfig, extraProcessors: SpanProcessor[] = []): void {
  if (!contextReady) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(propagator);
    contextReady = true;
  }
  if (!config.otlpEndpoint && extraProcessors.length === 0) return;
  const processors: SpanProcessor[] = [...extraProcessors];
  if (config.otlpEndpoint) {
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: config.otlpEndpoint, headers: config.otlpHeaders }), { scheduledDelayMillis: 500 }));
  }
  state = { config, providers: new Map(), processors };
}

/** The tracer of a service (no-op while tracing is off). */
export function tracerFor(service: string): Tracer {
  if (!state) return trace.getTracer('noop');
  let provider = state.providers.get(service);
  if (!provider) {
    provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'service.namespace': state.config.serviceNamespace }),
      sampler: new InstanceRateSampler(state.config.defaultSampleRate),
      spanProcessors: state.processors,
    });
    state.providers.set(service, provider);
  }
  return provider.getTracer(`agent-store/${service}`);
}

/** Exports what is buffered (shutdown, tests). */
export async function flushTracing(): Promise<void> {
  if (!state) return;
  await Promise.all(state.processors.map((p) => p.forceFlush()));
}

/** Tracing off again (tests start stacks with and without it). */
export async function shutdownTracing(): Promise<void> {
  const s = state;
  state = undefined;
  if (s) await Promise.all(s.processors.map((p) => p.shutdown()));
}

/** Adds `traceparent` (and `tracestate`) of the active span to outgoing headers. */
export function injectTraceHeaders(headers: Record<string, string | number>): void {
  propagation.inject(context.active(), headers);
}

/** The context a request's headers continue (its `traceparent`), or the active one. */
export function extractTraceContext(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(context.active(), headers);
}

/** The attribute names of the platform's ids on spans (tenant = org). */
export function idAttributes(fields: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  const map: Record<string, string> = { orgId: 'agentstore.tenant.id', projectId: 'agentstore.project.id', instanceId: 'agentstore.instance.id', runId: 'agentstore.run.id', reservationId: 'agentstore.reservation.id', requestId: 'agentstore.request.id' };
  for (const [k, name] of Object.entries(map)) if (typeof fields[k] === 'string') out[name] = fields[k] as string;
  return out;
}

/** Runs `work` in a child span of the active one (a model or tool call); errors mark the span. */
export async function inSpan<T>(service: string, name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  return tracerFor(service).startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work();
    } catch (err) {
      span.setStatus({ code: 2, message: (err as { code?: string }).code });
      throw err;
    } finally {
      span.end();
    }
  });
}
