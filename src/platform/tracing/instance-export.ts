/**
 * Per-instance trace export (`observability.otlpEndpoint`): the spans of an instance's runs go to
 * that instance's own OTLP/HTTP (JSON) endpoint as well as to the platform's collector, if any.
 *
 * The gateway routes a run's trace when it starts the run span (`route(traceId, endpoint)`, kept
 * for TRACE_TTL_MS); every span of that trace this process ends is handed to the endpoint's own
 * batch processor (one per endpoint, the least recently used beyond MAX_ENDPOINTS shut down).
 * Where the services share a process, their spans of the run follow; a service in another
 * process exports only to the platform's collector.
 *
 * Network reach: the endpoint is https to a public host (the capability's validate), set only by
 * a platform operator or the publisher (`x-settable-by`), and every connection goes through the
 * `lookup` given here — the platform passes the connector gateway's SSRF guard, which refuses a
 * host resolving to a private, loopback or link-local address at connect time (nothing exported).
 */
import type { LookupFunction } from 'node:net';
import type { Context } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

export const TRACE_TTL_MS = 5 * 60_000;
export const MAX_ENDPOINTS = 64;
const MAX_TRACES = 50_000;

export interface InstanceExportOptions {
  /** The socket lookup every export connects through (the SSRF guard). */
  lookup?: LookupFunction;
  /** Tests only: a CA to trust besides the system's (a local receiver's self-signed certificate). */
  ca?: string;
  now?: () => number;
}

export class InstanceExportRouter implements SpanProcessor {
  private readonly traces = new Map<string, { endpoint: string; until: number }>();
  private readonly processors = new Map<string, BatchSpanProcessor>();
  private readonly now: () => number;

  constructor(private readonly opts: InstanceExportOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** The spans of trace `traceId` go to `endpoint` too. */
  route(traceId: string, endpoint: string): void {
    const now = this.now();
    if (this.traces.size >= MAX_TRACES) {
      for (const [id, r] of this.traces) if (r.until < now) this.traces.delete(id);
      if (this.traces.size >= MAX_TRACES) this.traces.delete(this.traces.keys().next().value!);
    }
    this.traces.set(traceId, { endpoint, until: now + TRACE_TTL_MS });
  }

  onStart(_span: Span, _ctx: Context): void {}

  onEnd(span: ReadableSpan): void {
    const r = this.traces.get(span.spanContext().traceId);
    if (!r) return;
    if (r.until < this.now()) {
      this.traces.delete(span.spanContext().traceId);
      return;
    }
    this.processorFor(r.endpoint).onEnd(span);
  }

  private processorFor(endpoint: string): BatchSpanProcessor {
    let p = this.processors.get(endpoint);
    if (p) {
      // Most recently used last.
      this.processors.delete(endpoint);
      this.processors.set(endpoint, p);
      return p;
    }
    const agent = { keepAlive: true, ...(this.opts.lookup ? { lookup: this.opts.lookup } : {}), ...(this.opts.ca ? { ca: this.opts.ca } : {}) };
    p = new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint, httpAgentOptions: agent as never, timeoutMillis: 10_000 }), { scheduledDelayMillis: 500 });
    this.processors.set(endpoint, p);
    if (this.processors.size > MAX_ENDPOINTS) {
      const [oldest, old] = this.processors.entries().next().value!;
      this.processors.delete(oldest);
      void old.shutdown().catch(() => undefined);
    }
    return p;
  }

  async forceFlush(): Promise<void> {
    await Promise.all([...this.processors.values()].map((p) => p.forceFlush().catch(() => undefined)));
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.processors.values()].map((p) => p.shutdown().catch(() => undefined)));
    this.processors.clear();
    this.traces.clear();
  }
}
