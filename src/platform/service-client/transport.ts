/**
 * The `fetchApi` the generated typescript-fetch clients (generated/clients/<service>) run on
 * inside the platform: their `(url, init) => Promise<Response>` answered over the keep-alive
 * `node:http` transport (./http-json.ts) instead of Node's `fetch`, which measured
 * ~6× slower per call on this path (see http-json.ts). One attempt's timeout and the caller's
 * AbortSignal travel with each adapter; a request that never got an answer rejects with the
 * transport's own TransportError ('timeout' | 'network' | 'aborted' | 'too_large'), so callers
 * can tell "no answer" from an answer.
 *
 * A streamed operation (Server-Sent Events) runs on `attemptStream` instead: the adapter answers at
 * the response's headers and leaves the body unread, to be taken with `streamOf` (2xx) or read in
 * full by `bodyText` (an error answer).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { TransportError, type HttpClient, type HttpResponse, type StreamingResponse } from './http-json';

/** What the generated runtimes call (their `FetchAPI`). */
export type FetchApi = (url: string, init: RequestInit) => Promise<Response>;

/** The configuration every generated client's `Configuration` accepts. */
export interface ClientConfig {
  basePath: string;
  fetchApi: FetchApi;
}

/** The generated clients' `ApiResponse<T>` (each client package declares its own, of this shape). */
export interface GeneratedResponse<T> {
  raw: Response;
  value(): Promise<T>;
}

/** Bytes and headers of each answer, read without going through `Response` again. */
const answers = new WeakMap<Response, HttpResponse>();

/** The raw answer behind a Response this transport produced. */
export function answerOf(res: Response): HttpResponse | undefined {
  return answers.get(res);
}

/** The unread answer behind a Response `attemptStream` produced. */
const streams = new WeakMap<Response, StreamingResponse>();

/** The live answer (body not yet read) behind a Response of a streamed attempt. */
export function streamOf(res: Response): StreamingResponse | undefined {
  return streams.get(res);
}

/** The whole body of an answer of either adapter, or of a plain `fetch` Response. */
export async function bodyText(res: Response): Promise<string> {
  const raw = answers.get(res);
  if (raw) return raw.bytes.toString('utf8');
  const live = streams.get(res);
  if (!live) return res.text();
  const chunks: Buffer[] = [];
  for await (const c of live.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * A Response over bytes already read: the body stays the Buffer the transport holds (read by
 * `bodyText`, or by these methods), not a copy wrapped in a web stream, which cost ~30 µs per
 * answer — more than the rest of the call's own work.
 */
class BufferedResponse extends Response {
  readonly #bytes: Buffer;
  constructor(bytes: Buffer, init: ResponseInit) {
    super(null, init);
    this.#bytes = bytes;
  }
  override async text(): Promise<string> {
    return this.#bytes.toString('utf8');
  }
  override async json(): Promise<any> {
    return JSON.parse(this.#bytes.toString('utf8'));
  }
  override async arrayBuffer(): Promise<ArrayBuffer> {
    return new Uint8Array(this.#bytes).buffer;
  }
}
const statusFor = (status: number) => (status < 200 || status > 599 ? 502 : status);

function toHeaders(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out.append(k, one);
    else out.set(k, String(v));
  }
  return out;
}

/** A `fetchApi` for one attempt: sends through `http` with `timeoutMs`, `signal` and `headers` added. */
export function attemptFetch(http: HttpClient, o: { timeoutMs: number; signal?: AbortSignal; headers: Record<string, string> }): FetchApi {
  return async (url, init) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[k.toLowerCase()] = v;
    Object.assign(headers, o.headers);
    const body = typeof init.body === 'string' ? init.body : undefined;
    const res = await http.request(init.method ?? 'GET', url, { headers, body, timeoutMs: o.timeoutMs, signal: o.signal });
    const response = new BufferedResponse(NO_BODY.has(res.status) ? Buffer.alloc(0) : res.bytes, {
      status: statusFor(res.status),
      headers: toHeaders(res.headers),
    });
    answers.set(response, res);
    return response;
  };
}

/**
 * A `fetchApi` for one streamed attempt: answers at the response's headers with an empty
 * Response; the body stays on the wire for `streamOf`. `timeoutMs` bounds the whole exchange
 * (headers and body) and `signal` ends it at any time (the request is destroyed).
 */
export function attemptStream(http: HttpClient, o: { timeoutMs: number; signal?: AbortSignal; headers: Record<string, string> }): FetchApi {
  return async (url, init) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[k.toLowerCase()] = v;
    Object.assign(headers, o.headers);
    const body = typeof init.body === 'string' ? init.body : undefined;
    const res = await http.stream(init.method ?? 'GET', url, { headers, body, timeoutMs: o.timeoutMs, signal: o.signal });
    const response = new Response(null, { status: statusFor(res.status), headers: toHeaders(res.headers) });
    streams.set(response, res);
    return response;
  };
}

/**
 * The same over a WHATWG `fetch` (a caller that injects one, e.g. to reach a stand-in): the
 * attempt's timeout and signal combined into one AbortSignal, and failures turned into the
 * transport's TransportError kinds.
 */
export function attemptFetchWith(fetchImpl: typeof fetch, o: { timeoutMs: number; signal?: AbortSignal; headers: Record<string, string> }): FetchApi {
  return async (url, init) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[k.toLowerCase()] = v;
    Object.assign(headers, o.headers);
    const timeout = AbortSignal.timeout(o.timeoutMs);
    try {
      return await fetchImpl(url, { method: init.method, headers, body: init.body, signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout });
    } catch (err) {
      if (o.signal?.aborted) throw new TransportError('aborted', 'request aborted', { cause: err });
      if (timeout.aborted) throw new TransportError('timeout', `no answer within ${o.timeoutMs} ms`, { cause: err });
      throw new TransportError('network', (err as Error).message, { cause: err });
    }
  };
}
