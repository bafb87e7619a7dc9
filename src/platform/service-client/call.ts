/**
 * One way for a platform service to call another: through the generated typescript-fetch client
 * of the callee's spec (generated/clients/<service>), so a renamed operation, parameter or schema
 * fails `tsc` in the caller. This wrapper adds what the generated runtime lacks:
 * - **timeouts**: each attempt runs under its own deadline (`policy.timeoutMs`), and the caller's
 *   AbortSignal ends the call at any time (`ServiceCallError` kind `aborted`, never retried);
 * - **retries by operation**: a read is retried on `policy` (network errors, timeouts, the
 *   policy's statuses and `retryIf`); a write only when it carries an `Idempotency-Key` or the
 *   callee deduplicates it by its body (`idempotent: true`, e.g. settle by reservation id) —
 *   anything else gets exactly one attempt, so a write is never applied twice;
 * - **idempotency keys**: `idempotencyKey` is sent as `Idempotency-Key` on every attempt;
 * - **credentials and tracing**: the service token (a 401 drops it and tries once more, not
 *   counted as an attempt), a forwarded bearer or API key, `X-Request-Id` on every attempt, and
 *   `X-Request-Timeout-Ms` (the attempt's deadline minus a margin) for `deadline` calls;
 * - **error mapping**: a non-2xx answer becomes a `ServiceCallError` carrying the status, the
 *   canonical error (`code`, `message`, `details`) when the body is one, and the headers that
 *   matter to the caller (`Retry-After`);
 * - **keep-alive**: the transport is the shared `node:http` keep-alive agent (transport.ts).
 * - **streams**: `stream` runs an operation answered as Server-Sent Events (the Runner's streamed
 *   `executeRun`) the same way but resolves at the answer's headers, its body left unread.
 * What an outcome means to the caller (503 CONTROL_PLANE_UNAVAILABLE, RAG_UNAVAILABLE, …) stays
 * with each caller: see `ServiceCallError`.
 */
import type { ErrorCode } from '../../../generated/shared/types';
import type { TokenSource } from '../../auth/token-source';
import type { IncomingMessage } from 'node:http';
import { TransportError, type HttpClient, type TransportFailure } from './http-json';
import { statusOf } from '../errors';
import { attemptFetch, attemptFetchWith, attemptStream, bodyText, streamOf, type ClientConfig, type FetchApi, type GeneratedResponse } from './transport';

/** Whose credential a call carries. */
export type Credential =
  | { kind: 'none' }
  | { kind: 'service' }
  | { kind: 'bearer'; token: string }
  | { kind: 'apiKey'; key: string };

export interface RetryPolicy {
  /** Attempts in all (1 = no retry). */
  attempts: number;
  /** Delay before the 2nd attempt; doubles each time, with ±25 % jitter. */
  baseDelayMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** HTTP statuses worth another attempt (network errors and timeouts always are). */
  retryStatus: ReadonlySet<number>;
}

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function backoffMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const base = policy.baseDelayMs * 2 ** (attempt - 1);
  return Math.round(base * (0.75 + random() * 0.5));
}

/** The deadline a callee gets for a `deadline` call: the attempt's timeout minus a margin for its COMMIT. */
export const DEADLINE_MARGIN_MS = 1_000;

export interface Operation {
  /** The callee's operationId (metrics, error details). */
  operationId: string;
  kind: 'read' | 'write';
  credential: Credential;
  policy: RetryPolicy;
  /** Sent as `Idempotency-Key` on every attempt; makes a write retryable. */
  idempotencyKey?: string;
  /** A write the callee deduplicates by its body (a retry replays the first answer). */
  idempotent?: boolean;
  /** Send `X-Request-Timeout-Ms` (the callee never commits past it). */
  deadline?: boolean;
  /** Extra answers worth another attempt (e.g. 409 IDEMPOTENCY_IN_PROGRESS). */
  retryIf?: (answer: ServiceCallError) => boolean;
}

export interface CallContext {
  requestId?: string;
  signal?: AbortSignal;
}

export interface ServiceAnswer<T> {
  status: number;
  headers: Headers;
  body: T;
  /** `Idempotent-Replayed: true`: the callee replayed an earlier answer. */
  replayed: boolean;
}

export type FailureKind =
  /** The callee answered non-2xx (`status`, and `code` when the body is the canonical error). */
  | 'answer'
  /** No answer: `network`, `timeout` or `too_large` in `transport`. */
  | 'transport'
  /** The caller's signal ended the call. */
  | 'aborted'
  /** No credential could be obtained (the token endpoint failed). */
  | 'credential';

const KNOWN_CODES = new Set(Object.keys(statusOf));
const RETRY_AFTER = 'retry-after';

/** A call that did not succeed, with everything a caller needs to map it. */
export class ServiceCallError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly operationId: string,
    message: string,
    readonly extra: {
      status?: number;
      /** The callee's canonical error code (only codes the platform knows). */
      code?: ErrorCode;
      details?: Record<string, unknown>;
      /** Headers of the answer worth passing on (`Retry-After`). */
      headers?: Record<string, string>;
      transport?: TransportError['kind'];
      /** Attempts made. */
      attempts?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'ServiceCallError';
  }
  get status(): number | undefined {
    return this.extra.status;
  }
  get code(): ErrorCode | undefined {
    return this.extra.code;
  }
  /** Short reason for logs/metrics: `status 503`, `timeout`, `network`, … */
  get reason(): string {
    return this.kind === 'answer' ? `status ${this.extra.status}` : this.kind === 'transport' ? this.extra.transport ?? 'network' : this.kind;
  }
}

/** Reads a non-2xx answer into a ServiceCallError (canonical body → code, message, details). */
export async function failureOf(res: Response, operationId: string): Promise<ServiceCallError> {
  let parsed: { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
  try {
    const text = await bodyText(res);
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined; // not the canonical body (a proxy's error page)
  }
  const e = parsed?.error;
  const code = e && typeof e.code === 'string' && KNOWN_CODES.has(e.code) ? (e.code as ErrorCode) : undefined;
  const headers: Record<string, string> = {};
  const retryAfter = res.headers.get(RETRY_AFTER);
  if (retryAfter) headers['Retry-After'] = retryAfter;
  return new ServiceCallError('answer', operationId, code && typeof e?.message === 'string' ? e.message : `${operationId} answered ${res.status}`, {
    status: res.status,
    code,
    details: code && e?.details && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : undefined,
    headers,
  });
}

export interface ServiceClientOptions {
  /** The callee's base URL (a function: in a test stack it is known only after listen). */
  baseUrl: () => string;
  /** The keep-alive transport; or `fetch`, a WHATWG fetch to send through instead. */
  http?: HttpClient;
  fetch?: typeof fetch;
  /** The caller's own service token (for `{ kind: 'service' }` credentials). */
  tokens?: TokenSource;
  sleep?: Sleep;
  /** Told about every failed attempt (metrics): `kind` is `network`, `timeout` or `status_<n>`. */
  onError?: (operationId: string, kind: string) => void;
}

/** A 2xx answer whose body is read as it arrives (Server-Sent Events). */
export interface ServiceStream {
  status: number;
  headers: Headers;
  /**
   * The body, unread. It errors with a TransportError when the exchange dies: `timeout` (the
   * operation's `timeoutMs` bounds headers and body together), `aborted` (the caller's signal),
   * `network`.
   */
  body: IncomingMessage;
  /** Ends the request now (the caller no longer wants the body; the callee sees the disconnect). */
  destroy(reason?: TransportFailure): void;
}

export interface ServiceClient {
  /**
   * Calls one operation of a generated client: `api` builds the client on the attempt's
   * configuration (e.g. `(c) => new BillingApi(new Configuration(c))`), `send` calls its `…Raw`
   * method. Resolves with the 2xx answer (the JSON body as sent, typed by the client), or rejects
   * with a ServiceCallError.
   */
  call<A, T>(api: (config: ClientConfig) => A, send: (api: A) => Promise<GeneratedResponse<T>>, op: Operation, ctx: CallContext): Promise<ServiceAnswer<T>>;
  /**
   * The same for an operation answered as a stream (`Accept: text/event-stream` unless `accept`
   * says otherwise): resolves at the 2xx answer's headers with its body unread. Attempts, retries,
   * credentials and error mapping are those of `call`; a non-2xx answer is read in full and
   * rejects with its ServiceCallError. Needs the keep-alive transport (`http`).
   */
  stream<A>(api: (config: ClientConfig) => A, send: (api: A) => Promise<GeneratedResponse<unknown>>, op: Operation, ctx: CallContext & { accept?: string }): Promise<ServiceStream>;
}

export function createServiceClient(opts: ServiceClientOptions): ServiceClient {
  const sleep = opts.sleep ?? realSleep;

  async function credentialHeaders(c: Credential): Promise<Record<string, string>> {
    if (c.kind === 'service') {
      if (!opts.tokens) throw new Error('this client has no service token source');
      return { authorization: `Bearer ${await opts.tokens.token()}` };
    }
    if (c.kind === 'bearer') return { authorization: `Bearer ${c.token}` };
    if (c.kind === 'apiKey') return { 'x-api-key': c.key };
    return {};
  }

  /**
   * The attempts of one operation: `fetchFor` builds each attempt's transport, `take` turns the
   * 2xx answer into the result.
   */
  async function attemptAll<A, T, R>(
    api: (config: ClientConfig) => A,
    send: (api: A) => Promise<GeneratedResponse<T>>,
    op: Operation,
    ctx: CallContext,
    fetchFor: (o: { timeoutMs: number; signal?: AbortSignal; headers: Record<string, string> }) => FetchApi,
    take: (res: GeneratedResponse<T>) => Promise<R>,
  ): Promise<R> {
    const mayRetry = op.kind === 'read' || op.idempotencyKey !== undefined || op.idempotent === true;
    const attempts = mayRetry ? op.policy.attempts : 1;
    const basePath = opts.baseUrl().replace(/\/+$/, '');
    let refreshedToken = false;
    let last: ServiceCallError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (ctx.signal?.aborted) throw new ServiceCallError('aborted', op.operationId, 'the call was cancelled', { attempts: attempt - 1 });
      let headers: Record<string, string>;
      try {
        headers = await credentialHeaders(op.credential);
      } catch (err) {
        throw new ServiceCallError('credential', op.operationId, 'no credential for the call', { cause: err, attempts: attempt - 1 });
      }
      if (ctx.requestId) headers['x-request-id'] = ctx.requestId;
      if (op.idempotencyKey) headers['idempotency-key'] = op.idempotencyKey;
      if (op.deadline) headers['x-request-timeout-ms'] = String(Math.max(50, op.policy.timeoutMs - DEADLINE_MARGIN_MS));
      const fetchApi = fetchFor({ timeoutMs: op.policy.timeoutMs, signal: ctx.signal, headers });
      let failure: ServiceCallError;
      try {
        return await take(await send(api({ basePath, fetchApi })));
      } catch (err) {
        if (err instanceof Response) {
          failure = await failureOf(err, op.operationId);
          failure.extra.attempts = attempt;
          if (err.status === 401 && op.credential.kind === 'service' && !refreshedToken) {
            // The token, not the callee, was at fault: drop it and try again (not an attempt).
            refreshedToken = true;
            opts.tokens?.invalidate();
            attempt--;
            continue;
          }
          opts.onError?.(op.operationId, `status_${err.status}`);
          const retryable = op.policy.retryStatus.has(err.status) || (op.retryIf?.(failure) ?? false);
          if (!retryable) throw failure;
        } else if (err instanceof TransportError) {
          if (err.kind === 'aborted') throw new ServiceCallError('aborted', op.operationId, 'the call was cancelled', { cause: err, attempts: attempt });
          failure = new ServiceCallError('transport', op.operationId, err.message, { transport: err.kind, cause: err, attempts: attempt });
          opts.onError?.(op.operationId, err.kind);
        } else {
          throw err; // a bug in the caller (a generated client's RequiredError, bad JSON on 2xx)
        }
      }
      last = failure;
      if (attempt < attempts) await sleep(backoffMs(op.policy, attempt));
    }
    throw last!;
  }

  return {
    call<A, T>(api: (config: ClientConfig) => A, send: (api: A) => Promise<GeneratedResponse<T>>, op: Operation, ctx: CallContext): Promise<ServiceAnswer<T>> {
      const fetchFor = (o: { timeoutMs: number; signal?: AbortSignal; headers: Record<string, string> }) => (opts.http ? attemptFetch(opts.http, o) : attemptFetchWith(opts.fetch ?? fetch, o));
      return attemptAll(api, send, op, ctx, fetchFor, async (res) => {
        const text = await bodyText(res.raw);
        return { status: res.raw.status, headers: res.raw.headers, body: (text ? JSON.parse(text) : undefined) as T, replayed: res.raw.headers.get('idempotent-replayed') === 'true' };
      });
    },
    stream<A>(api: (config: ClientConfig) => A, send: (api: A) => Promise<GeneratedResponse<unknown>>, op: Operation, ctx: CallContext & { accept?: string }): Promise<ServiceStream> {
      const http = opts.http;
      if (!http) return Promise.reject(new Error('a streamed call needs the keep-alive transport (http)'));
      const accept = ctx.accept ?? 'text/event-stream';
      return attemptAll(api, send, op, ctx, (o) => attemptStream(http, { ...o, headers: { ...o.headers, accept } }), async (res) => {
        const live = streamOf(res.raw)!;
        return { status: res.raw.status, headers: res.raw.headers, body: live.body, destroy: (reason?: TransportFailure) => live.destroy(reason) };
      });
    },
  };
}

/**
 * A request body typed by the service's own schema types (generated/<service>/types) passed as
 * the generated client's model of the same schema. Both come from one spec; they differ only
 * where the generator is looser (maps of inline objects) or the schema types allow `undefined`
 * map values, so bodies whose types match exactly need no call to this.
 */
export function model<M>(body: object): M {
  return body as M;
}
