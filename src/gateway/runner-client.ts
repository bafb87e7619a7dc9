/**
 * Gateway → Runner: `executeRun` (`POST /v1/runs`) through the Runner's generated client
 * (generated/clients/runner) on the service-client wrapper, with the gateway's service token and
 * the request's X-Request-Id, under the run's deadline (60 s at most). A run is never retried here (the Runner
 * itself retries the runtime once on network errors); what the Runner refuses surfaces as its own
 * canonical error:
 *   422 ARTIFACT_INTEGRITY_FAILED / UNSUPPORTED_COMPONENT / MODALITY_NOT_SUPPORTED, 502 RUNTIME_ERROR, 503 RUNTIME_UNAVAILABLE /
 *   STORAGE_UNAVAILABLE / RAG_UNAVAILABLE, 504 DEPENDENCY_TIMEOUT.
 * The Runner unreachable → 503 RUNTIME_UNAVAILABLE; no answer in time → 504 DEPENDENCY_TIMEOUT.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RunnerRunRequest, RunnerRunResult } from '../../generated/runner/types';
import type { TokenSource } from '../auth/token-source';
import { AppError, type ErrorCode, statusOf } from '../platform/errors';
import { Configuration, ExecutionApi, type RunnerRunRequest as RunnerRunRequestModel } from '../../generated/clients/runner';
import { createServiceClient, model, type ClientConfig, type Operation, ServiceCallError } from '../platform/service-client';
import { clientGone } from './cp-client';
import type { HttpClient } from '../platform/service-client/http-json';

export const GATEWAY_RUNNER_TIMEOUT_MS = 60_000;

export interface RunnerClient {
  execute(body: RunnerRunRequest, o: { requestId: string; signal?: AbortSignal; timeoutMs: number }): Promise<RunnerRunResult>;
}

/** Codes the Runner may answer that mean the same to the gateway's caller. */
const SURFACED = new Set<ErrorCode>([
  'RATE_LIMITED', 'ARTIFACT_INTEGRITY_FAILED', 'UNSUPPORTED_COMPONENT', 'UNPROCESSABLE', 'RUNTIME_ERROR', 'RUNTIME_UNAVAILABLE',
  'STORAGE_UNAVAILABLE', 'RAG_UNAVAILABLE', 'VAULT_UNAVAILABLE', 'DEPENDENCY_TIMEOUT', 'DEPENDENCY_UNAVAILABLE', 'POLICY_DENIED', 'MODALITY_NOT_SUPPORTED',
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

const executionApi = (c: ClientConfig) => new ExecutionApi(new Configuration(c));

export function createRunnerClient(opts: { baseUrl: () => string; http: HttpClient; tokens: TokenSource }): RunnerClient {
  const service = createServiceClient({ baseUrl: opts.baseUrl, http: opts.http, tokens: opts.tokens });
  return {
    async execute(body, o) {
      // A run is a write without an Idempotency-Key: the wrapper makes exactly one attempt.
      const op: Operation = { operationId: 'executeRun', kind: 'write', credential: { kind: 'service' }, policy: { attempts: 1, baseDelayMs: 0, timeoutMs: o.timeoutMs, retryStatus: new Set() } };
      try {
        const res = await service.call(executionApi, (a) => a.executeRunRaw({ runnerRunRequest: model<RunnerRunRequestModel>(body) }), op, { requestId: o.requestId, signal: o.signal });
        if (res.status === 200 && res.body) return res.body as RunnerRunResult;
        throw new AppError('RUNTIME_ERROR', 'The runner refused the run', { dependency: 'runner', status: res.status, code: null });
      } catch (err) {
        if (!(err instanceof ServiceCallError)) throw err;
        if (err.kind === 'aborted') throw clientGone(err);
        if (err.kind === 'credential') throw new AppError('RUNTIME_UNAVAILABLE', 'The gateway could not authenticate to the runner', { dependency: 'runner' }, { status: 503, cause: err });
        if (err.kind === 'transport') {
          if (err.extra.transport === 'timeout') throw new AppError('DEPENDENCY_TIMEOUT', `The runner did not answer within ${Math.round(o.timeoutMs / 1000)} s`, { dependency: 'runner', timeoutMs: o.timeoutMs }, { cause: err });
          throw new AppError('RUNTIME_UNAVAILABLE', 'The runner is unreachable', { dependency: 'runner' }, { status: 503, cause: err });
        }
        const code = err.code;
        if (code && SURFACED.has(code)) {
          const status = err.status ?? statusOf[code];
          throw new AppError(code, err.message, err.extra.details, { status: status >= 400 ? status : statusOf[code], headers: passedOnHeaders({ 'retry-after': err.extra.headers?.['Retry-After'] }, err.extra.details) });
        }
        // 400/401/403 from the runner mean the gateway built a bad request or is misconfigured.
        throw new AppError('RUNTIME_ERROR', 'The runner refused the run', { dependency: 'runner', status: err.status, code: code ?? null });
      }
    },
  };
}
