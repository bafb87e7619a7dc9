import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type Koa from 'koa';
import { extractTraceContext, idAttributes, tracerFor } from './index';

/**
 * The server span of every request a service app answers: it continues the caller's
 * `traceparent`, is named after the operation once routing knows it, and carries the request's
 * ids (tenant, project, instance, run) as the handler annotated them.
 */
export function tracingMiddleware(service: string): Koa.Middleware {
  return async (k, next) => {
    const parent = extractTraceContext(k.headers);
    const span = tracerFor(service).startSpan(`${k.method} ${k.path}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': k.method, 'url.path': k.path } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      // A span that records nothing (not sampled) takes no name, attributes or status: skip building them.
      if (span.isRecording()) {
        const st = k.state.request as { operationId?: string; requestId?: string; fields?: Record<string, unknown> } | undefined;
        if (st?.operationId && st.operationId !== 'unrouted') span.updateName(`${service} ${st.operationId}`);
        span.setAttributes({ ...idAttributes({ ...(st?.fields ?? {}), requestId: st?.requestId }), 'http.response.status_code': k.status });
        if (k.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    }
  };
}
