/**
 * The browser side of the gateway's run contract, shared by the widget and the hosted chat.
 * `POST /v1/runs` asks for Server-Sent Events and takes whatever comes back: the content type
 * decides (`text/event-stream`: `start`, `delta`*, then `done` with the RunResult or `error`
 * with the canonical error; otherwise one JSON RunResult). Errors before the first byte are
 * ordinary JSON error responses.
 */
import { createSseParser } from './sse';

export interface ApiErrorInfo {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  retryAfterSeconds?: number;
}

export class ApiError extends Error implements ApiErrorInfo {
  status: number;
  code: string;
  details?: Record<string, unknown>;
  retryAfterSeconds?: number;
  constructor(info: ApiErrorInfo) {
    super(info.message);
    this.status = info.status;
    this.code = info.code;
    this.details = info.details;
    this.retryAfterSeconds = info.retryAfterSeconds;
  }
}

export interface RunResultLike {
  runId: string;
  sessionId?: string | null;
  output: { text: string };
  billing?: { creditsCharged: number; balance: number; available: number; lowBalance?: boolean };
}

/** Turns a non-2xx answer (or a network failure: status 0) into an ApiError. */
export async function errorOf(res: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; details?: Record<string, unknown> } } = {};
  try {
    body = await res.json();
  } catch {
    /* not JSON: keep the status */
  }
  const retry = Number(res.headers.get('Retry-After'));
  return new ApiError({
    status: res.status,
    code: body.error?.code ?? `HTTP_${res.status}`,
    message: body.error?.message ?? res.statusText,
    details: body.error?.details,
    retryAfterSeconds: Number.isFinite(retry) && retry > 0 ? retry : undefined,
  });
}

export const networkError = (err: unknown): ApiError =>
  new ApiError({ status: 0, code: (err as Error)?.name === 'AbortError' || (err as Error)?.name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK', message: String((err as Error)?.message ?? err) });

export async function call<T>(url: string, init: RequestInit & { timeoutMs?: number }): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(init.timeoutMs ?? 15000) });
  } catch (err) {
    throw networkError(err);
  }
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export interface RunCallbacks {
  onStart?(info: { runId: string; sessionId?: string }): void;
  onDelta?(text: string): void;
}

/** Starts a run and resolves with its RunResult; streams `delta` text when the gateway streams. */
export async function postRun(base: string, token: string, body: Record<string, unknown>, cb: RunCallbacks = {}, timeoutMs = 75000): Promise<RunResultLike> {
  let res: Response;
  try {
    res = await fetch(`${base}/v1/runs`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'text/event-stream, application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw networkError(err);
  }
  if (!res.ok) throw await errorOf(res);
  if (!(res.headers.get('Content-Type') ?? '').startsWith('text/event-stream') || !res.body) {
    return (await res.json()) as RunResultLike;
  }
  let result: RunResultLike | undefined;
  let failure: ApiError | undefined;
  const parser = createSseParser(({ event, data }) => {
    const value = JSON.parse(data);
    if (event === 'start') cb.onStart?.(value);
    else if (event === 'delta' && typeof value.text === 'string') cb.onDelta?.(value.text);
    else if (event === 'done') result = value;
    else if (event === 'error') failure = new ApiError({ status: 200, code: value.error?.code ?? 'INTERNAL', message: value.error?.message ?? 'The run failed', details: value.error?.details });
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
  } catch (err) {
    throw networkError(err);
  }
  parser.end();
  if (failure) throw failure;
  if (!result) throw new ApiError({ status: 0, code: 'NETWORK', message: 'The answer stopped before it was complete' });
  return result;
}
