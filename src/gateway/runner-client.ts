/**
 * Gateway → Runner: `POST /v1/runs` with the gateway's service token and the request's
 * X-Request-Id, under the run's deadline (60 s at most). A run is never retried here (the Runner
 * itself retries the runtime once on network errors); what the Runner refuses surfaces as its own
 * canonical error:
 *   422 ARTIFACT_INTEGRITY_FAILED / UNSUPPORTED_COMPONENT, 502 RUNTIME_ERROR, 503 RUNTIME_UNAVAILABLE /
 *   STORAGE_UNAVAILABLE / RAG_UNAVAILABLE, 504 DEPENDENCY_TIMEOUT.
 * The Runner unreachable → 503 RUNTIME_UNAVAILABLE; no answer in time → 504 DEPENDENCY_TIMEOUT.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RunnerRunRequest, RunnerRunResult } from '../../generated/runner/types';
import type { TokenSource } from '../auth/token-source';
import { AppError, type ErrorCode, statusOf } from '../platform/errors';
import { clientGone } from './cp-client';
import type { HttpClient } from './http-json';
import { TransportError } from './http-json';

export const GATEWAY_RUNNER_TIMEOUT_MS = 60_000;

export interface RunnerClient {
  execute(body: RunnerRunRequest, o: { requestId: string; signal?: AbortSignal; timeoutMs: number }): Promise<RunnerRunResult>;
}

/** Codes the Runner may answer that mean the same to the gateway's caller. */
const SURFACED = new Set<ErrorCode>([
  'RATE_LIMITED', 'ARTIFACT_INTEGRITY_FAILED', 'UNSUPPORTED_COMPONENT', 'UNPROCESSABLE', 'RUNTIME_ERROR', 'RUNTIME_UNAVAILABLE',
  'STORAGE_UNAVAILABLE', 'RAG_UNAVAILABLE', 'VAULT_UNAVAILABLE', 'DEPENDENCY_TIMEOUT', 'DEPENDENCY_UNAVAILABLE', 'POLICY_DENIED',
]);

/**
 * The Runner's answer headers its caller needs too: `Retry-After` (a model provider's 429 or 503
 * says when to come back, RFC 9110 §10.2.3). Without the header, the wait the Runner put in
 * `details.retryAfterSeconds` is turned into one.
 */
export function passedOnHeaders(headers: IncomingHttpHeaders, details?: Record<string, unknown>): Record<string, string> | undefined {
  const h = headers['retry-after'];
  const value = Array.isArray(h) ? h[0] : h;
  if (value) return { 'Retry-After': value };
  const seconds = details?.retryAfterSeconds;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? { 'Retry-After': String(Math.ceil(seconds)) } : undefined;
}

export function createRunnerClient(opts: { baseUrl: () => string; http: HttpClient; tokens: TokenSource }): RunnerClient {
  return {
    async execute(body, o) {
      const url = `${opts.baseUrl().replace(/\/+$/, '')}/v1/runs`;
      let refreshed = false;
      for (;;) {
        let res;
        try {
          res = await opts.http.json<RunnerRunResult & { error?: { code?: string; message?: string; details?: Record<string, unknown> } }>('POST', url, {
            headers: { authorization: `Bearer ${await opts.tokens.token()}`, 'x-request-id': o.requestId },
            body,
            timeoutMs: o.timeoutMs,
            signal: o.signal,
          });
        } catch (err) {
          if (err instanceof TransportError) {
            if (err.kind === 'aborted') throw clientGone(err);
            if (err.kind === 'timeout') throw new AppError('DEPENDENCY_TIMEOUT', `The runner did not answer within ${Math.round(o.timeoutMs / 1000)} s`, { dependency: 'runner', timeoutMs: o.timeoutMs }, { cause: err });
            throw new AppError('RUNTIME_UNAVAILABLE', 'The runner is unreachable', { dependency: 'runner' }, { status: 503, cause: err });
          }
          throw new AppError('RUNTIME_UNAVAILABLE', 'The gateway could not authenticate to the runner', { dependency: 'runner' }, { status: 503, cause: err });
        }
        if (res.status === 200 && res.body) return res.body;
        if (res.status === 401 && !refreshed) {
          refreshed = true;
          opts.tokens.invalidate();
          continue;
        }
        const e = res.body?.error;
        const code = e?.code as ErrorCode | undefined;
        if (code && SURFACED.has(code)) {
          return Promise.reject(new AppError(code, e?.message ?? `runner answered ${res.status}`, e?.details, { status: res.status >= 400 ? res.status : statusOf[code], headers: passedOnHeaders(res.headers, e?.details) }));
        }
        // 400/401/403 from the runner mean the gateway built a bad request or is misconfigured.
        throw new AppError('RUNTIME_ERROR', 'The runner refused the run', { dependency: 'runner', status: res.status, code: code ?? null });
      }
    },
  };
}
