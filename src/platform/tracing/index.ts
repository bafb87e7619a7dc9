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
 * Export: to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (every sampled span), and the runs of an
 * instance with `observability.otlpEndpoint` to that endpoint as well (instance-export.ts). With
 * neither, nothing is recorded: without the platform's endpoint only the runs of instances with
 * their own endpoint are sampled at all.
 */
import { context, propagation, trace, type Attributes, type Context, type Link, type SpanKind, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SamplingDecision, type Sampler, type SamplingResult, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/sections/tracing';
import { InstanceExportRouter, type InstanceExportOptions } from './instance-export';

export type { InstanceExportOptions } from './instance-export';

export const SAMPLE_RATE_ATTRIBUTE = 'agentstore.sample_rate';
/** On a run's root span: the instance exports its runs to its own endpoint. */
export const INSTANCE_EXPORT_ATTRIBUTE = 'agentstore.instance_export';

/**
 * Keeps a root span with probability `agentstore.sample_rate` (else `defaultRate`), by its trace
 * id. Without a platform exporter (`exportsAll` false) only the root spans of runs exported to
 * their instance's own endpoint are considered; everything else is not recorded.
 */
export class InstanceRateSampler implements Sampler {
  constructor(private readonly defaultRate: number, private readonly exportsAll = true) {}
  shouldSample(ctx: Context, traceId: string, _name: string, _kind: SpanKind, attributes: Attributes, _links: Link[]): SamplingResult {
    const parent = trace.getSpanContext(ctx);
    if (parent && trace.isSpanContextValid(parent)) {
      return { decision: parent.traceFlags & 1 ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
    }
    if (!this.exportsAll && attributes[INSTANCE_EXPORT_ATTRIBUTE] !== true) return { decision: SamplingDecision.NOT_RECORD };
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
  exportsAll: boolean;
  router?: InstanceExportRouter;
}

let state: TracingState | undefined;
const propagator = new W3CTraceContextPropagator();
let contextReady = false;

/**
 * Sets tracing up for this process: the platform's exporter when an endpoint is configured, and
 * the per-instance exports unless `instanceExport` is false (its options: the SSRF-guarded lookup).
 */
export function initTracing(config: TracingConfig, extraProcessors: SpanProcessor[] = [], opts: { instanceExport?: InstanceExportOptions | false } = {}): void {
  if (!contextReady) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(propagator);
    contextReady = true;
  }
  const router = opts.instanceExport === false ? undefined : new InstanceExportRouter(opts.instanceExport ?? {});
  if (!config.otlpEndpoint && extraProcessors.length === 0 && !router) return;
  const processors: SpanProcessor[] = [...extraProcessors];
  if (config.otlpEndpoint) {
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: config.otlpEndpoint, headers: config.otlpHeaders }), { scheduledDelayMillis: 500 }));
  }
  if (router) processors.push(router);
  state = { config, providers: new Map(), processors, exportsAll: !!config.otlpEndpoint || extraProcessors.length > 0, router };
}

/** The spans of this trace (a run of an instance with its own endpoint) go to `endpoint` too. */
export function routeTrace(traceId: string, endpoint: string): void {
  state?.router?.route(traceId, endpoint);
}

/** The tracer of a service (no-op while tracing is off). */
export function tracerFor(service: string): Tracer {
  if (!state) return trace.getTracer('noop');
  let provider = state.providers.get(service);
  if (!provider) {
    provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'service.namespace': state.config.serviceNamespace }),
      sampler: new InstanceRateSampler(state.config.defaultSampleRate, state.exportsAll),
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
const ID_ATTRIBUTES: readonly (readonly [string, string])[] = [
  ['orgId', 'agentstore.tenant.id'], ['projectId', 'agentstore.project.id'], ['instanceId', 'agentstore.instance.id'],
  ['runId', 'agentstore.run.id'], ['reservationId', 'agentstore.reservation.id'], ['requestId', 'agentstore.request.id'],
];
export function idAttributes(fields: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  for (const [k, name] of ID_ATTRIBUTES) if (typeof fields[k] === 'string') out[name] = fields[k] as string;
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
