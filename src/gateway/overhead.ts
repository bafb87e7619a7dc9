/**
 * `X-Gateway-Overhead-Ms` on every gateway answer: the time between the request reaching the
 * gateway's Koa app and the answer being handed back to Node, minus the time spent waiting for
 * the Runner (auth, entitlements, rate limit, authorize and settle included). `Server-Timing` splits it further for dashboards and browser devtools:
 * `gateway` (the gateway's own work), `controlplane` (waiting for entitlements, authorize,
 * settle, void) and `runner`.
 *
 * Handlers report their waits in internal response headers, which the outermost middleware reads
 * and strips (so it works for answers and thrown errors alike, with no per-request async context).
 */
import type Koa from 'koa';
import { AppError } from '../platform/errors';
import type { GatewayMetrics } from './metrics';

const RUNNER_TIME_HEADER = 'x-gateway-runner-ms';
const CP_TIME_HEADER = 'x-gateway-controlplane-ms';
export const OVERHEAD_HEADER = 'X-Gateway-Overhead-Ms';

/** Time a request spent waiting on other services (ms). */
export interface Waits {
  runnerMs: number;
  controlPlaneMs: number;
}

export const noWaits = (): Waits => ({ runnerMs: 0, controlPlaneMs: 0 });

/** Adds the time `p` takes to `waits[key]`. */
export async function waited<T>(waits: Waits, key: keyof Waits, p: Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await p;
  } finally {
    waits[key] += performance.now() - t0;
  }
}

export function waitHeaders(w: Waits): Record<string, string> {
  const h: Record<string, string> = {};
  if (w.runnerMs > 0) h[RUNNER_TIME_HEADER] = w.runnerMs.toFixed(3);
  if (w.controlPlaneMs > 0) h[CP_TIME_HEADER] = w.controlPlaneMs.toFixed(3);
  return h;
}

/** The same error, carrying the waits for the overhead headers. */
export function withWaits(err: unknown, w: Waits): unknown {
  if (!(err instanceof AppError) || (w.runnerMs <= 0 && w.controlPlaneMs <= 0)) return err;
  return new AppError(err.code, err.message, err.details, { status: err.status, cause: err.cause, headers: { ...(err.headers ?? {}), ...waitHeaders(w) } });
}

export function overheadMiddleware(metrics: GatewayMetrics): Koa.Middleware {
  return async (k, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const runnerMs = Number(k.response.get(RUNNER_TIME_HEADER) || 0);
      const cpMs = Number(k.response.get(CP_TIME_HEADER) || 0);
      k.remove(RUNNER_TIME_HEADER);
      k.remove(CP_TIME_HEADER);
      const overheadMs = Math.max(0, performance.now() - started - runnerMs);
      k.set(OVERHEAD_HEADER, overheadMs.toFixed(3));
      k.set('Server-Timing', `gateway;dur=${Math.max(0, overheadMs - cpMs).toFixed(3)}, controlplane;dur=${cpMs.toFixed(3)}, runner;dur=${runnerMs.toFixed(3)}`);
      if (k.method === 'POST' && k.path === '/v1/runs') metrics.overhead.observe({ operation: 'createRun' }, overheadMs / 1000);
    }
  };
}
