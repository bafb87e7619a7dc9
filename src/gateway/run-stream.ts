/**
 * `POST /v1/runs` as Server-Sent Events (`Accept: text/event-stream` or `"stream": true`).
 *
 * Everything up to the hold happens before the first byte (runs.ts `admit`): a refusal is an
 * ordinary JSON error answer with its status. Then the events, each `event:` + one `data:` line:
 *   start  {"runId","instanceId","sessionId"}      first, once authorized
 *   delta  {"text":"…"}                            as the Runner streams its output
 *   done   <RunResult>                             last, on success (the JSON answer's body)
 *   error  {"error":{code,message,details,traceId}} last, on a failure after start
 * A comment line (`: keep-alive`) every 15 s keeps idle proxies from closing the stream.
 *
 * Settled once, at the end, with the real usage:
 * - `result` from the Runner → its usage;
 * - the Runner's `error` event → the usage it reported (void when it consumed nothing);
 * - the client went away → the Runner request is aborted (the runtime stops) and the run is
 *   charged for what was produced: the usage the Runner reported in an `error` event when one
 *   came first, else the prompt's tokens and the tokens of the text already forwarded; a run that
 *   forwarded nothing is voided. Never more than the hold (the Control Plane caps the settle).
 * - the stream broke or timed out → the same estimate, and an `error` event.
 */
import { PassThrough } from 'node:stream';
import type { RunRequest, RunResult } from '../../generated/gateway/types';
import { AppError, errorBody } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';
import type { GatewayDeps } from './deps';
import type { RunOutcome } from './metrics';
import type { Waits } from './overhead';
import { estimateUsage } from './run-budget';
import { outputStreamChain } from '../capabilities/hooks/run-hooks';
import {
  admit, asAppError, channelOf, channelUsage, failedStatus, filteredOutput, hookAnswered, outcomeOf, resultOf, settleRun, shapeOutput, voidRun, withDetails,
  type Admitted, type RunContext,
} from './runs';
import { GATEWAY_RUNNER_TIMEOUT_MS } from './runner-client';
import { RunnerStreamError } from './runner-stream';

const KEEP_ALIVE_MS = 15_000;

export interface StreamAnswer {
  stream: PassThrough;
  headers: Record<string, string>;
  /** Settles when the run has ended (settled or voided) — tests and metrics wait on it. */
  done: Promise<void>;
}

/** True when the request asks for Server-Sent Events. */
export function wantsStream(body: RunRequest, accept: string | undefined): boolean {
  return body.stream === true || /(^|,)\s*text\/event-stream\b/i.test(accept ?? '');
}

export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export async function createRunStream(deps: GatewayDeps, caller: Caller | undefined, body: RunRequest, idempotencyKey: string | undefined, c: RunContext, timing: Waits): Promise<StreamAnswer> {
  const started = performance.now();
  const channel = channelOf(caller);
  let admitted;
  try {
    admitted = await admit(deps, caller, body, idempotencyKey, c, timing);
  } catch (err) {
    const e = asAppError(err);
    deps.metrics.runs.inc({ outcome: outcomeOf(e, 'admission'), channel, code: e.code });
    throw err;
  }
  const stream = new PassThrough();
  const headers = { 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no', ...(idempotencyKey ? { 'Idempotent-Replayed': admitted.kind === 'replay' ? 'true' : 'false' } : {}) };
  if (admitted.kind === 'replay') {
    if (admitted.status !== 200) {
      const e = admitted.body as { code: AppError['code']; message: string; details?: Record<string, unknown> };
      throw new AppError(e.code, e.message, e.details, { status: admitted.status, headers: { 'Idempotent-Replayed': 'true' } });
    }
    const r = admitted.body as unknown as RunResult;
    stream.write(sseEvent('start', { runId: r.runId, instanceId: r.instanceId, sessionId: r.sessionId ?? null }));
    if (r.output.text) stream.write(sseEvent('delta', { text: r.output.text }));
    stream.end(sseEvent('done', r));
    deps.metrics.runs.inc({ outcome: 'succeeded', channel, code: '' });
    return { stream, headers, done: Promise.resolve() };
  }
  const a = admitted;
  const done = run(deps, a, stream, c, timing, started).finally(() => a.releaseLease());
  return { stream, headers: { ...headers, 'X-RateLimit-Remaining': String(a.rateRemaining) }, done };
}

async function run(deps: GatewayDeps, a: Admitted, stream: PassThrough, c: RunContext, timing: Waits, started: number): Promise<void> {
  // The client's going away shows as the stream being destroyed before we end it (Koa destroys
  // the body when the response closes); that, or a shutdown, aborts the Runner request.
  const upstream = new AbortController();
  let clientGone = false;
  let ended = false;
  stream.on('close', () => {
    if (!ended) {
      clientGone = true;
      upstream.abort(new Error('client went away'));
    }
  });
  const onShutdown = () => upstream.abort(new Error('shutting down'));
  c.signal.addEventListener('abort', onShutdown, { once: true });
  const send = (event: string, data: unknown) => {
    if (!clientGone && !stream.destroyed) stream.write(sseEvent(event, data));
  };
  const keepAlive = setInterval(() => {
    if (!clientGone && !stream.destroyed) stream.write(': keep-alive\n\n');
  }, KEEP_ALIVE_MS);
  keepAlive.unref();

  let forwarded = '';
  let outcome: RunOutcome = 'error';
  let code = '';
  const t0 = performance.now();
  send('start', { runId: a.runId, instanceId: a.ent.instanceId, sessionId: a.sessionId });
  try {
    // The capabilities' outputStream filters see every delta before the client does; once one
    // refuses, nothing more is forwarded and the run ends with that refusal (charged for the work done).
    let filter: ReturnType<typeof outputStreamChain> = null;
    let refused: AppError | undefined;
    const forward = (f: () => string) => {
      if (refused) return;
      try {
        const text = f();
        if (text) {
          forwarded += text;
          send('delta', { text });
        }
      } catch (err) {
        refused = asAppError(err);
      }
    };
    let result;
    try {
      filter = outputStreamChain(a.ent, a.facts);
      const answered = await hookAnswered(deps, a, c);
      if (answered) forward(() => (filter ? filter.push(answered.output.text) : answered.output.text));
      result = answered ?? await deps.runnerStream(a.runnerRequest, {
        requestId: c.requestId,
        signal: upstream.signal,
        timeoutMs: GATEWAY_RUNNER_TIMEOUT_MS,
        onDelta: (text) => {
          forward(() => (filter ? filter.push(text) : text));
        },
      });
    } finally {
      timing.runnerMs += performance.now() - t0;
    }
    if (filter) forward(() => filter!.end());
    const usage = channelUsage(result.usage.dimensions, a.channel);
    if (refused) {
      if (refused.code !== 'GUARDRAIL_BLOCKED') {
        const voided = await voidRun(deps, c, timing, a, refused);
        throw new Settled(withDetails(refused, { runId: a.runId, reservationId: a.reservation.reservationId, charged: false, voided }));
      }
      const s = await settleRun(deps, c, timing, a, usage, { status: 'failed', error: refused });
      deps.metrics.creditsCharged.inc({ channel: a.channel }, s.creditsCharged);
      throw new Settled(withDetails(refused, { runId: a.runId, reservationId: a.reservation.reservationId, charged: true, creditsCharged: s.creditsCharged }));
    }
    const output = await filteredOutput(deps, c, timing, a, usage, shapeOutput(result.output)).catch((err) => {
      throw new Settled(asAppError(err));
    });
    const settlement = await settleRun(deps, c, timing, a, usage, { status: 'succeeded', output });
    deps.metrics.creditsCharged.inc({ channel: a.channel }, settlement.creditsCharged);
    send('done', resultOf(a, output, usage, settlement));
    outcome = 'succeeded';
  } catch (thrown) {
    if (thrown instanceof Settled) {
      // Already settled or voided (a refused or failed output filter): only the error event is left.
      outcome = outcomeOf(thrown.err, 'settle');
      code = thrown.err.code;
      send('error', errorBody(thrown.err, c.requestId));
      return;
    }
    let err = asAppError(thrown, 'RUNTIME_ERROR');
    if (clientGone) err = new AppError('INTERNAL', 'The request was cancelled: the client went away', { reason: 'cancelled' }, { status: 499 });
    outcome = outcomeOf(err, 'runner');
    code = err.code;
    try {
      await endFailed(deps, a, c, timing, err, forwarded, thrown instanceof RunnerStreamError ? thrown.usage : undefined);
      send('error', errorBody(err, c.requestId));
    } catch (settleErr) {
      send('error', errorBody(asAppError(settleErr), c.requestId));
    }
  } finally {
    clearInterval(keepAlive);
    c.signal.removeEventListener('abort', onShutdown);
    ended = true;
    if (!stream.destroyed) stream.end();
    deps.metrics.runs.inc({ outcome, channel: a.channel, code });
    deps.metrics.runDuration.observe({ outcome }, (performance.now() - started) / 1000);
  }
}

/** A run ended by a capability's output hook whose hold is already settled or voided. */
class Settled extends Error {
  constructor(readonly err: AppError) {
    super(err.message);
  }
}

/** A run that failed or was cut short after its start: charged for what was produced, else voided. */
async function endFailed(deps: GatewayDeps, a: Admitted, c: RunContext, timing: Waits, err: AppError, forwarded: string, reported: Record<string, number> | undefined): Promise<void> {
  const consumed = reported && Object.entries(reported).some(([k, v]) => k !== 'runs' && v > 0);
  if (!consumed && !forwarded) {
    await voidRun(deps, c, timing, a, err);
    return;
  }
  const usage = channelUsage(consumed ? reported! : estimateUsage(a.prompt, forwarded), a.channel);
  const status = failedStatus(err);
  const s = await settleRun(deps, c, timing, a, usage, { status, ...(forwarded ? { output: { text: forwarded } } : {}), error: err });
  deps.metrics.creditsCharged.inc({ channel: a.channel }, s.creditsCharged);
}
