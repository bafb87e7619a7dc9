/**
 * `X-Gateway-Overhead-Ms` on every gateway answer: the time between the request reaching the
 * gateway's Koa app and the answer being handed back to Node, minus the time spent waiting for
 * the Runner. Handlers report their Runner time in an internal response header, which the outer
 * middleware reads and strips (so it works for answers and for thrown errors alike, and needs no
 * per-request async context).
 */
import type Koa from 'koa';
import { AppError } from '../platform/errors';
import type { GatewayMetrics } from './metrics';

export const RUNNER_TIME_HEADER = 'x-gateway-runner-ms';
export const OVERHEAD_HEADER = 'X-Gateway-Overhead-Ms';

export function runnerTimeHeader(runnerMs: number): Record<string, string> {
  return runnerMs > 0 ? { [RUNNER_TIME_HEADER]: runnerMs.toFixed(3) } : {};
}

/** The same error, carrying the Runner time for the overhead header. */
export function withRunnerTime(err: unknown, runnerMs: number): unknown {
  if (!(err instanceof AppError) || runnerMs <= 0) return err;
  return new AppError(err.code, err.message, err.details, { status: err.status, cause: err.cause, headers: { ...(err.headers ?? {}), ...runnerTimeHeader(runnerMs) } });
}

export function overheadMiddleware(metrics: GatewayMetrics): Koa.Middleware {
  return async (k, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const runnerMs = Number(k.response.get(RUNNER_TIME_HEADER) || 0);
      k.remove(RUNNER_TIME_HEADER);
      const overheadMs = Math.max(0, performance.now() - started - runnerMs);
      k.set(OVERHEAD_HEADER, overheadMs.toFixed(3));
      if (k.method === 'POST' && k.path === '/v1/runs') metrics.overhead.observe({ operation: 'createRun' }, overheadMs / 1000);
    }
  };
}
