import { AppError } from '../platform/errors';

/**
 * One run's time budget joined with the caller's abort signal. `signal` aborts on whichever
 * comes first; `timedOut` says which it was, so the runtime answers DEPENDENCY_TIMEOUT for the
 * budget and a cancellation for a caller who went away. Call `dispose()` when done.
 */
export interface Deadline {
  signal: AbortSignal;
  timedOut(): boolean;
  /** The AppError for the current abort (timeout → DEPENDENCY_TIMEOUT). */
  error(what: string): AppError;
  dispose(): void;
}

export function deadline(parent: AbortSignal | undefined, timeoutMs: number, dependency: string): Deadline {
  const timer = new AbortController();
  const handle = setTimeout(() => timer.abort(new Error(`${dependency} timed out after ${timeoutMs} ms`)), timeoutMs);
  const signal = parent ? AbortSignal.any([parent, timer.signal]) : timer.signal;
  return {
    signal,
    timedOut: () => timer.signal.aborted,
    error(what) {
      if (timer.signal.aborted) {
        return new AppError('DEPENDENCY_TIMEOUT', `${what} did not finish within ${timeoutMs} ms`, { dependency, timeoutMs });
      }
      return new AppError('RUNTIME_ERROR', `${what} was cancelled`, { dependency, reason: 'cancelled' });
    },
    dispose: () => clearTimeout(handle),
  };
}
