/**
 * Gateway → Runner with `Accept: text/event-stream` (specs/runner.openapi.yaml, executeRun),
 * through the Runner's generated client (generated/clients/runner) on the service-client
 * wrapper's streamed mode, with the gateway's service token (a 401 renews it once) and the
 * request's X-Request-Id; a run gets exactly one attempt. The Runner answers `delta`* then
 * `result` (a RunnerRunResult) or `error`
 * (`{"error":{code,message,details},"usage":{"dimensions":{…}}}`); errors before the stream
 * starts are ordinary JSON error answers. Events are parsed with `eventsource-parser`.
 *
 * A Runner that answers plain JSON (one that does not stream) is accepted too: its output becomes
 * one delta. Outcomes:
 * - `result` → resolves with it;
 * - `error` → rejects with RunnerStreamError (the Runner's code, and the usage it reported);
 * - a JSON error answer → its canonical code and status (`Retry-After` passed on), else
 *   502 RUNTIME_ERROR;
 * - the stream ends or breaks without either → RunnerStreamError RUNTIME_ERROR without usage;
 * - `signal` aborted (the client went away) → the request is destroyed (the Runner stops the
 *   runtime) and it rejects with the client-gone error (499);
 * - no complete answer within `timeoutMs` → DEPENDENCY_TIMEOUT;
 * - the Runner unreachable, or no service token → 503 RUNTIME_UNAVAILABLE.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { RunnerRunRequest, RunnerRunResult } from '../../generated/runner/types';
import { Configuration, ExecutionApi, type RunnerRunRequest as RunnerRunRequestModel } from '../../generated/clients/runner';
import type { TokenSource } from '../auth/token-source';
import { AppError, type ErrorCode, statusOf } from '../platform/errors';
import { createServiceClient, model, type ClientConfig, type Operation, ServiceCallError, type ServiceStream } from '../platform/service-client';
import { clientGone } from './cp-client';
import { passedOnHeaders } from './runner-client';
import type { HttpClient } from '../platform/service-client/http-json';
import { TransportError } from '../platform/service-client/http-json';

/** A run that failed after its stream started; `usage` is what the Runner said it consumed. */
export class RunnerStreamError extends AppError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> | undefined, readonly usage: Record<string, number> | undefined, status?: number) {
    super(code, message, details, { status: status ?? statusOf[code] });
  }
}

export interface RunnerStreamOptions {
  requestId: string;
  signal?: AbortSignal;
  timeoutMs: number;
  onDelta(text: string): void;
}

const KNOWN = new Set(Object.keys(statusOf));

const executionApi = (c: ClientConfig) => new ExecutionApi(new Configuration(c));

const retryAfterOf = (headers: Headers) => ({ 'retry-after': headers.get('retry-after') ?? undefined });

export function createRunnerStreamer(opts: { baseUrl: () => string; http: HttpClient; tokens: TokenSource }) {
  const service = createServiceClient({ baseUrl: opts.baseUrl, http: opts.http, tokens: opts.tokens });
  return async function executeStream(body: RunnerRunRequest, o: RunnerStreamOptions): Promise<RunnerRunResult> {
    const timedOut = (cause: unknown) => new AppError('DEPENDENCY_TIMEOUT', `The runner did not finish within ${Math.round(o.timeoutMs / 1000)} s`, { dependency: 'runner', timeoutMs: o.timeoutMs }, { cause });
    const unreachable = (cause: unknown) => new AppError('RUNTIME_UNAVAILABLE', 'The runner is unreachable', { dependency: 'runner' }, { status: 503, cause });
    /** A failure of the body once the answer started (the transport's own error). */
    const mapTransport = (err: unknown): AppError => {
      if (err instanceof AppError) return err;
      if (err instanceof TransportError) {
        if (err.kind === 'aborted') return clientGone(err);
        if (err.kind === 'timeout') return timedOut(err);
      }
      return unreachable(err);
    };
    // A run is a write without an Idempotency-Key: the wrapper makes exactly one attempt.
    const op: Operation = { operationId: 'executeRun', kind: 'write', credential: { kind: 'service' }, policy: { attempts: 1, baseDelayMs: 0, timeoutMs: o.timeoutMs, retryStatus: new Set() } };
    let res: ServiceStream;
    try {
      res = await service.stream(executionApi, (a) => a.executeRunRaw({ runnerRunRequest: model<RunnerRunRequestModel>(body) }), op, { requestId: o.requestId, signal: o.signal });
    } catch (err) {
      if (!(err instanceof ServiceCallError)) throw err;
      if (err.kind === 'aborted') throw clientGone(err);
      if (err.kind === 'credential') throw new AppError('RUNTIME_UNAVAILABLE', 'The gateway could not authenticate to the runner', { dependency: 'runner' }, { status: 503, cause: err });
      if (err.kind === 'transport') throw err.extra.transport === 'timeout' ? timedOut(err) : unreachable(err);
      // A JSON error answer before the stream started.
      const code = err.code;
      if (code) {
        const status = err.status ?? statusOf[code];
        throw new AppError(code, err.message, err.extra.details, { status: status >= 400 ? status : statusOf[code], headers: passedOnHeaders({ 'retry-after': err.extra.headers?.['Retry-After'] }, err.extra.details) });
      }
      throw new AppError('RUNTIME_ERROR', 'The runner refused the run', { dependency: 'runner', status: err.status });
    }
    const type = res.headers.get('content-type') ?? '';
    if (res.status !== 200 || !type.startsWith('text/event-stream')) {
      // A JSON answer from a Runner that does not stream.
      const chunks: Buffer[] = [];
      try {
        for await (const c of res.body) chunks.push(c as Buffer);
      } catch (err) {
        throw mapTransport(err);
      }
      let parsed: (RunnerRunResult & { error?: { code?: string; message?: string; details?: Record<string, unknown> } }) | undefined;
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        parsed = undefined;
      }
      if (res.status === 200 && parsed?.output) {
        if (parsed.output.text) o.onDelta(parsed.output.text);
        return parsed;
      }
      const e = parsed?.error;
      if (e?.code && KNOWN.has(e.code)) throw new AppError(e.code as ErrorCode, e.message ?? `runner answered ${res.status}`, e.details, { status: statusOf[e.code as ErrorCode], headers: passedOnHeaders(retryAfterOf(res.headers), e.details) });
      throw new AppError('RUNTIME_ERROR', 'The runner refused the run', { dependency: 'runner', status: res.status });
    }

    return new Promise<RunnerRunResult>((resolve, reject) => {
      let done = false;
      const finish = (err: AppError | undefined, result?: RunnerRunResult) => {
        if (done) return;
        done = true;
        if (err) {
          res.destroy('aborted');
          reject(err);
        } else resolve(result!);
      };
      const parser = createParser({
        onEvent(ev: EventSourceMessage) {
          if (done) return;
          let data: any;
          try {
            data = JSON.parse(ev.data);
          } catch {
            return finish(new RunnerStreamError('RUNTIME_ERROR', 'The runner sent an event that is not JSON', { dependency: 'runner', event: ev.event ?? 'message' }, undefined));
          }
          if (ev.event === 'delta') {
            if (typeof data?.text === 'string' && data.text) o.onDelta(data.text);
          } else if (ev.event === 'result') {
            finish(undefined, data as RunnerRunResult);
          } else if (ev.event === 'error') {
            const e = data?.error ?? {};
            const code: ErrorCode = typeof e.code === 'string' && KNOWN.has(e.code) ? e.code : 'RUNTIME_ERROR';
            const dims = data?.usage?.dimensions;
            finish(new RunnerStreamError(code, typeof e.message === 'string' ? e.message : 'The run failed', e.details, dims && typeof dims === 'object' ? dims : undefined));
          }
        },
      });
      res.body.setEncoding('utf8');
      res.body.on('data', (chunk: string) => parser.feed(chunk));
      res.body.on('end', () => finish(new RunnerStreamError('RUNTIME_ERROR', 'The runner\'s stream ended without a result', { dependency: 'runner' }, undefined)));
      res.body.on('error', (err) => {
        const mapped = mapTransport(err);
        finish(mapped.code === 'RUNTIME_UNAVAILABLE' ? new RunnerStreamError('RUNTIME_ERROR', 'The runner\'s stream broke', { dependency: 'runner' }, undefined) : mapped);
      });
    });
  };
}

export type RunnerStreamer = ReturnType<typeof createRunnerStreamer>;
