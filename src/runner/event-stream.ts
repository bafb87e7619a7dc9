/**
 * A run answered as Server-Sent Events (`Accept: text/event-stream`), as specs/runner.openapi.yaml
 * describes executeRun:
 *   event: delta   data: {"text":"…"}                      zero or more, as the runtime produces text
 *   event: result  data: <RunnerRunResult>                 once, last, on success
 *   event: error   data: {"error":{code,message,details},"usage":{"dimensions":{…}}}   once, last, on failure
 *
 * The HTTP answer is held back until the runtime produces its first text (or finishes): a run
 * that fails before that (artifact refused, unsupported component, provider 429/5xx, …) answers an
 * ordinary JSON error with its own status, so the Gateway can void the hold and pass Retry-After
 * on. After the first frame the status is 200 and a failure becomes the final `error` event,
 * carrying the usage so far so the Gateway settles for what was produced. A client that goes
 * away aborts the request's signal, which stops the runtime call (the service app aborts it when
 * the response closes unfinished).
 */
import type { RunnerRunRequest, RunnerRunResult } from '../../generated/runner/types';
import { toAppError } from '../platform/errors';
import { sseFrame } from '../runtime/model/sse';
import type { RunProgress } from '../runtime/types';
import type { RunnerDeps } from './deps';
import { executeRun, type ExecuteContext } from './execute';

type Settled = { ok: true; result: RunnerRunResult } | { ok: false; error: unknown };

export async function executeRunAsEventStream(deps: RunnerDeps, req: RunnerRunRequest, ctx: Omit<ExecuteContext, 'progress'>): Promise<AsyncIterable<string>> {
  const frames = new FrameQueue();
  const progress: RunProgress = { delta: (text) => text && frames.push(sseFrame('delta', { text })), usage: {} };
  const settled: Promise<Settled> = executeRun(deps, req, { ...ctx, progress }).then(
    (result) => ({ ok: true, result }),
    (error) => ({ ok: false, error }),
  );
  const first = await Promise.race([settled, frames.ready()]);
  if (first !== 'ready' && !first.ok && frames.size() === 0) throw first.error;

  return (async function* () {
    let done = false;
    settled.then(() => {
      done = true;
      frames.wake();
    });
    while (!done || frames.size() > 0) {
      const next = frames.shift();
      if (next !== undefined) yield next;
      else await frames.waitForMore();
    }
    const end = await settled;
    if (end.ok) {
      yield sseFrame('result', end.result);
      return;
    }
    const err = toAppError(end.error);
    if (err.status >= 500) ctx.log.warn({ code: err.code, err: end.error }, 'run failed after its stream started');
    yield sseFrame('error', {
      error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) },
      usage: { dimensions: { ...progress.usage } },
    });
  })();
}

/** Frames waiting to be written, with a way to wait for the next one. */
class FrameQueue {
  private items: string[] = [];
  private waiters: (() => void)[] = [];
  private firstWaiters: (() => void)[] = [];

  push(frame: string): void {
    this.items.push(frame);
    for (const w of this.firstWaiters) w();
    this.firstWaiters = [];
    this.wake();
  }

  shift(): string | undefined {
    return this.items.shift();
  }

  size(): number {
    return this.items.length;
  }

  /** Resolves when the first frame is queued. */
  ready(): Promise<'ready'> {
    if (this.items.length) return Promise.resolve('ready');
    return new Promise((resolve) => this.firstWaiters.push(() => resolve('ready')));
  }

  waitForMore(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}
