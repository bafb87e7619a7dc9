/**
 * Gateway metrics (prom-client, one registry per gateway app), served at GET /metrics beside the
 * platform's request metrics (agentstore_http_*). They back the gateway alerts: p95 of
 * /v1/runs and of the gateway's own overhead, run failure/timeout rate, authorize/settle errors
 * (control-plane errors by operation), insufficient-credit and rate-limit block spikes.
 */
import { Counter, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const OVERHEAD_BUCKETS = [0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.5];

export type RunOutcome =
  | 'succeeded'
  | 'rate_limited'
  | 'insufficient_credits'
  | 'not_entitled'
  | 'rejected'
  | 'runner_failed'
  | 'runner_timeout'
  | 'control_plane_unavailable'
  | 'cancelled'
  | 'error';

export interface GatewayMetrics {
  registry: Registry;
  runs: Counter<'outcome' | 'channel' | 'code'>;
  creditsCharged: Counter<'channel'>;
  runDuration: Histogram<'outcome'>;
  overhead: Histogram<'operation'>;
  rateLimited: Counter<'scope'>;
  insufficientCredits: Counter<string>;
  controlPlaneErrors: Counter<'operation' | 'kind'>;
  entitlementsCache: Counter<'result'>;
  rateLimiterFallbacks: Counter<string>;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    runs: new Counter({ name: 'gateway_runs_total', help: 'Runs through POST /v1/runs by outcome, channel (user, api_key, widget) and error code (empty on success).', labelNames: ['outcome', 'channel', 'code'], registers }),
    creditsCharged: new Counter({ name: 'gateway_credits_charged_total', help: 'Credits settled for successful runs, by channel.', labelNames: ['channel'], registers }),
    runDuration: new Histogram({ name: 'gateway_run_duration_seconds', help: 'End-to-end latency of POST /v1/runs (runtime included) by outcome.', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers }),
    overhead: new Histogram({ name: 'gateway_overhead_seconds', help: 'Time spent in the gateway itself, runner time excluded (X-Gateway-Overhead-Ms).', labelNames: ['operation'], buckets: OVERHEAD_BUCKETS, registers }),
    rateLimited: new Counter({ name: 'gateway_rate_limited_total', help: 'Requests refused with 429 RATE_LIMITED, by bucket scope.', labelNames: ['scope'], registers }),
    insufficientCredits: new Counter({ name: 'gateway_insufficient_credits_total', help: 'Runs refused with 403 INSUFFICIENT_CREDITS.', registers }),
    controlPlaneErrors: new Counter({ name: 'gateway_control_plane_errors_total', help: 'Failed Control Plane attempts (network, timeout, status_<n>) by operation.', labelNames: ['operation', 'kind'], registers }),
    entitlementsCache: new Counter({ name: 'gateway_entitlements_cache_total', help: 'Entitlements lookups by cache result.', labelNames: ['result'], registers }),
    rateLimiterFallbacks: new Counter({ name: 'gateway_rate_limiter_fallbacks_total', help: 'Rate-limit decisions taken in-process because Redis failed.', registers }),
  };
}
