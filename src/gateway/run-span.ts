/**
 * Each run is one trace: a root `run` span started here with the instance's
 * `observability.traceSampleRate` (src/platform/tracing: a rate of 0 records nothing of the run),
 * linked to the request's own span; the calls the run makes (authorize, Runner, settle) carry its
 * traceparent, so the Control Plane's, the Runner's and the model/tool spans join it. The span
 * takes the run's ids (tenant, project, instance, run) as the run path annotates them. An
 * instance with `observability.otlpEndpoint` has its run's trace exported there too.
 */
import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Caller } from '../platform/http/handler-types';
import { idAttributes, INSTANCE_EXPORT_ATTRIBUTE, routeTrace, SAMPLE_RATE_ATTRIBUTE, tracerFor } from '../platform/tracing';
import { credentialOf } from './auth';
import type { GatewayDeps } from './deps';

/**
 * The instance's trace sample rate and own OTLP endpoint, from its (cached) entitlements; no rate
 * when they cannot be read (the run path answers that).
 */
async function tracingOf(deps: GatewayDeps, caller: Caller | undefined, instanceId: string, requestId: string): Promise<{ rate?: number; endpoint?: string }> {
  if (!caller) return {};
  try {
    const ent = await deps.entitlements.get(instanceId, credentialOf(caller), { requestId });
    if (!ent.capabilities.includes('observability')) return { rate: 0 };
    const obs = ent.config.observability as { traceSampleRate?: unknown; otlpEndpoint?: unknown } | undefined;
    return { rate: typeof obs?.traceSampleRate === 'number' ? obs.traceSampleRate : 0.1, ...(typeof obs?.otlpEndpoint === 'string' ? { endpoint: obs.otlpEndpoint } : {}) };
  } catch {
    return {};
  }
}

/**
 * Runs `work` inside the run's root span; `annotate` also sets the span's id attributes. With
 * `endOn` (a stream) the span ends when it closes, else when `work` settles.
 */
export async function withRunSpan<T>(
  deps: GatewayDeps,
  c: { caller?: Caller; requestId: string; annotate(fields: Record<string, unknown>): void },
  instanceId: string,
  work: (annotate: (fields: Record<string, unknown>) => void, span: Span) => Promise<T>,
  endOn?: (result: T) => NodeJS.ReadableStream | undefined,
): Promise<T> {
  const { rate, endpoint } = await tracingOf(deps, c.caller, instanceId, c.requestId);
  const request = trace.getActiveSpan();
  const span = tracerFor('gateway').startSpan(
    'run',
    {
      root: true,
      links: request ? [{ context: request.spanContext() }] : [],
      attributes: { ...idAttributes({ instanceId, requestId: c.requestId }), [SAMPLE_RATE_ATTRIBUTE]: rate ?? 0, ...(endpoint ? { [INSTANCE_EXPORT_ATTRIBUTE]: true } : {}) },
    },
    ROOT_CONTEXT,
  );
  if (endpoint && span.isRecording()) routeTrace(span.spanContext().traceId, endpoint);
  const annotate = (fields: Record<string, unknown>) => {
    c.annotate(fields);
    // An unsampled run's span records nothing: no attributes to build.
    if (span.isRecording()) span.setAttributes(idAttributes(fields));
  };
  let ended = false;
  try {
    const result = await context.with(trace.setSpan(context.active(), span), () => work(annotate, span));
    const stream = endOn?.(result);
    if (stream) {
      ended = true;
      stream.once('close', () => span.end());
    }
    return result;
  } catch (err) {
    const code = (err as { code?: string }).code;
    span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    if (code) span.setAttribute('agentstore.error.code', code);
    throw err;
  } finally {
    if (!ended) span.end();
  }
}
