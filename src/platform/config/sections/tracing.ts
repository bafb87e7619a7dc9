import { defineSection } from '../define';

export interface TracingConfig {
  /** OTLP/HTTP traces endpoint (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, e.g. `http://collector:4318/v1/traces`); unset = no export. */
  otlpEndpoint?: string;
  /** Extra headers for the exporter (`OTEL_EXPORTER_OTLP_HEADERS`, `k=v,k2=v2`: an API key of a hosted backend). */
  otlpHeaders: Record<string, string>;
  /** Sample rate of requests that carry no instance (health checks, catalog reads): 0–1. */
  defaultSampleRate: number;
  /** The service name on every span's resource (`OTEL_SERVICE_NAMESPACE` + the service). */
  serviceNamespace: string;
}

function headersOf(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const i = pair.indexOf('=');
    if (i > 0) out[decodeURIComponent(pair.slice(0, i).trim())] = decodeURIComponent(pair.slice(i + 1).trim());
  }
  return out;
}

/**
 * Distributed tracing (OpenTelemetry): each run's spans across gateway → control plane → runner
 * → model/tool share one trace (W3C traceparent on every service call). Spans are exported over
 * OTLP/HTTP when an endpoint is set; the instance's `observability.traceSampleRate` decides
 * whether its runs are recorded.
 */
export const tracing = defineSection({
  id: 'tracing',
  title: 'Tracing (OpenTelemetry, OTLP/HTTP)',
  vars: {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: { doc: 'OTLP/HTTP traces endpoint of a collector (JSON encoding), e.g. http://otel-collector:4318/v1/traces. Unset: spans are not exported.', example: 'http://127.0.0.1:4318/v1/traces' },
    OTEL_EXPORTER_OTLP_HEADERS: { doc: 'Extra exporter headers, `key=value` pairs separated by commas (a hosted backend\'s API key).', secret: true },
    OTEL_TRACES_DEFAULT_SAMPLE_RATE: { doc: 'Sample rate (0–1) of requests that name no instance; a run follows its instance\'s observability.traceSampleRate.', default: '0' },
    OTEL_SERVICE_NAMESPACE: { doc: 'service.namespace of every span\'s resource; service.name is the service (gateway, control-plane, …).', default: 'agent-store' },
  },
  read(r): { tracing: TracingConfig } {
    const rate = Number(r.str('OTEL_TRACES_DEFAULT_SAMPLE_RATE', '0'));
    if (!(rate >= 0 && rate <= 1)) r.problem('OTEL_TRACES_DEFAULT_SAMPLE_RATE', 'must be a number between 0 and 1');
    return {
      tracing: {
        otlpEndpoint: r.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
        otlpHeaders: headersOf(r.str('OTEL_EXPORTER_OTLP_HEADERS')),
        defaultSampleRate: rate >= 0 && rate <= 1 ? rate : 0,
        serviceNamespace: r.str('OTEL_SERVICE_NAMESPACE', 'agent-store'),
      },
    };
  },
});
