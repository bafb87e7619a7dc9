/**
 * Gateway → Runner with `Accept: text/event-stream` (specs/runner.openapi.yaml, executeRun): the
 * Runner answers `delta`* then `result` (a RunnerRunResult) or `error`
 * (`{"error":{code,message,details},"usage":{"dimensions":{…}}}`); errors before the stream
 * starts are ordinary JSON error answers. Events are parsed with `eventsource-parser`.
 *
 * A Runner that answers plain JSON (one that does not stream) is accepted too: its output becomes
 * one delta. Outcomes:
 * - `result` → resolves with it;
 * - `error` → rejects with RunnerStreamError (the Runner's code, and the usage it reported);
 * - the stream ends or breaks without either → RunnerStreamError RUNTIME_ERROR without usage;
 * - `signal` aborted (the client went away) → the request is destroyed (the Runner stops the
 *   runtime) and it rejects with the client-gone error (499);
 * - no complete answer within `timeoutMs` → DEPENDENCY_TIMEOUT.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { RunnerRunRequest, RunnerRunResult } from '../../generated/runner/types';
import type { TokenSource } from '../auth/token-source';
import { AppError, type ErrorCode, statusOf } from '../platform/errors';
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

export function createRunnerStreamer(opts: { baseUrl: () => string; http: HttpClient; tokens: TokenSource }) {
  return async function executeStream(body: RunnerRunRequest, o: RunnerStreamOptions): Promise<RunnerRunResult> {
    const url = `${opts.baseUrl().replace(/\/+$/, '')}/v1/runs`;
    const mapTransport = (err: unknown): AppError => {
      if (err instanceof AppError) return err;
      if (err instanceof TransportError) {
        if (err.kind === 'aborted') return clientGone(err);
        if (err.kind === 'timeout') return new AppError('DEPENDENCY_TIMEOUT', `The runner did not finish within ${Math.round(o.timeoutMs / 1000)} s`, { dependency: 'runner', timeoutMs: o.timeoutMs }, { cause: err });
        return new AppError('RUNTIME_UNAVAILABLE', 'The runner is unreachable', { dependency: 'runner' }, { status: 503, cause: err });
      }
      return new AppError('RUNTIME_UNAVAILABLE', 'The gateway could not authenticate to the runner', { dependency: 'runner' }, { status: 503, cause: err });
    };
    let res;
    try {
      res = await opts.http.stream('POST', url, {
        headers: { authorization: `Bearer ${await opts.tokens.token()}`, 'x-request-id': o.requestId, accept: 'text/event-stream' },
        body,
        timeoutMs: o.timeoutMs,
        signal: o.signal,
      });
    } catch (err) {
      throw mapTransport(err);
    }
    const type = String(res.headers['content-type'] ?? '');
    if (res.status !== 200 || !type.startsWith('text/event-stream')) {
      // A JSON answer: an error before the stream, or a Runner that does not stream.
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
      if (e?.code && KNOWN.has(e.code)) throw new AppError(e.code as ErrorCode, e.message ?? `runner answered ${res.status}`, e.details, { status: res.status >= 400 ? res.status : statusOf[e.code as ErrorCode], headers: passedOnHeaders(res.headers, e.details) });
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
