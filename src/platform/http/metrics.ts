import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30, 60];

export interface HttpMetrics {
  registry: Registry;
  observe(info: { operationId: string; status: number; code?: string; durationMs: number }): void;
}

/**
 * Request metrics every service exposes at GET /metrics, labelled by operation, status and
 * stable error code (so alerts can watch e.g. INSUFFICIENT_CREDITS or POLICY_DENIED spikes).
 * A service may pass its own registry to add domain metrics beside them.
 */
export function createHttpMetrics(service: string, registry = new Registry()): HttpMetrics {
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'agentstore_' });
  const registers = [registry];
  dropTotalGauges(registry);
  const requests = new Counter({
    name: 'agentstore_http_requests_total',
    help: 'HTTP answers by operation, status and error code.',
    labelNames: ['operation', 'status', 'code'],
    registers,
  });
  const duration = new Histogram({
    name: 'agentstore_http_request_duration_seconds',
    help: 'HTTP request latency by operation.',
    labelNames: ['operation'],
    buckets: BUCKETS,
    registers,
  });
  return {
    registry,
    observe({ operationId, status, code, durationMs }) {
      requests.inc({ operation: operationId, status: String(status), code: code ?? '' });
      duration.observe({ operation: operationId }, durationMs / 1000);
    },
  };
}

/**
 * prom-client's default metrics include three gauges named `…_total`, which Prometheus reserves
 * for counters (`promtool check metrics` refuses them). They are dropped: the same counts are in
 * `agentstore_nodejs_active_{handles,requests,resources}{type}` (sum over `type`).
 */
function dropTotalGauges(registry: Registry): void {
  for (const name of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`agentstore_nodejs_active_${name}_total`);
}
