/**
 * The platform's HTTP transport between services: JSON over `node:http(s)` with one keep-alive
 * agent per client. The generated typescript-fetch clients run on it through the service-client
 * wrapper (src/platform/service-client/transport.ts supplies it as their `fetchApi`).
 *
 * Why not Node's `fetch` (undici) underneath: measured on the
 * 2-core dev box against a trivial local JSON server, Node 20's `fetch` does ~3k requests/s,
 * `http.request` on a keep-alive agent ~19k/s; every `/v1/runs` makes two to four of these calls
 * (authorize, runner, settle, entitlements on a cache miss), so the transport alone would eat
 * most of the overhead budget. Both keep connections alive (verified by counting server
 * connections in the tests); the agent here is LIFO so the hottest sockets are reused and idle
 * ones close client-side (30 s) before the servers' 65 s keep-alive timeout, which avoids the
 * reuse-after-server-close race.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { injectTraceHeaders } from '../tracing';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Raw body bytes. */
  bytes: Buffer;
}

export interface JsonResponse<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; undefined when the body is empty or not JSON. */
  body: T | undefined;
}

export type TransportFailure = 'timeout' | 'network' | 'aborted' | 'too_large';

/** The request never produced a response (connection refused/reset, timeout, caller abort). */
export class TransportError extends Error {
  constructor(readonly kind: TransportFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
  }
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** JSON-serialised when not a Buffer/string. */
  body?: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Largest response body accepted (default 16 MiB). */
  maxBytes?: number;
}

/** A response whose body is read as it arrives (Server-Sent Events). */
export interface StreamingResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body; errors with a TransportError ('timeout', 'aborted', 'network') when the request dies. */
  body: IncomingMessage;
  /** Ends the request now (the caller no longer wants the body). */
  destroy(reason?: TransportFailure): void;
}

export interface HttpClient {
  request(method: string, url: string, opts: RequestOptions): Promise<HttpResponse>;
  /**
   * Sends the request and answers at the response's headers; `timeoutMs` bounds the whole
   * exchange (headers and body) and `signal` ends it at any time.
   */
  stream(method: string, url: string, opts: RequestOptions): Promise<StreamingResponse>;
  json<T>(method: string, url: string, opts: RequestOptions): Promise<JsonResponse<T>>;
  /** Sockets opened so far (tests check that connections are reused). */
  readonly socketsCreated: number;
  close(): void;
}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json/i;

export function createHttpClient(opts: { maxSockets?: number; idleTimeoutMs?: number } = {}): HttpClient {
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 512, maxFreeSockets: 256, timeout: opts.idleTimeoutMs ?? 30_000, scheduling: 'lifo' as const };
  const agents = { 'http:': new http.Agent(agentOpts), 'https:': new https.Agent(agentOpts) };
  let socketsCreated = 0;
  for (const agent of Object.values(agents)) {
    const create = agent.createConnection.bind(agent) as (...args: unknown[]) => unknown;
    (agent as unknown as { createConnection: (...args: unknown[]) => unknown }).createConnection = (...args: unknown[]) => {
      socketsCreated++;
      return create(...args);
    };
  }

  function request(method: string, url: string, o: RequestOptions): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      if (o.signal?.aborted) return reject(new TransportError('aborted', 'request aborted before it was sent'));
      const u = new URL(url);
      const lib = u.protocol === 'https:' ? https : http;
      const agent = agents[u.protocol as 'http:' | 'https:'];
      if (!agent) return reject(new TransportError('network', `unsupported protocol ${u.protocol}`));
      let payload: Buffer | undefined;
      const headers: Record<string, string | number> = { accept: 'application/json', ...o.headers };
      injectTraceHeaders(headers);
      if (o.body !== undefined) {
        payload = Buffer.isBuffer(o.body) ? o.body : Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
        headers['content-type'] ??= 'application/json';
        headers['content-length'] = payload.length;
      }
      const maxBytes = o.maxBytes ?? 16 * 1024 * 1024;
      let settled = false;
      const finish = (err: Error | undefined, res?: HttpResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res!);
      };
      const req = lib.request(
        { protocol: u.protocol, hostname: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBytes) {
              req.destroy(new TransportError('too_large', `response larger than ${maxBytes} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }));
          res.on('error', (err) => finish(err instanceof TransportError ? err : new TransportError('network', err.message, { cause: err })));
          res.on('aborted', () => finish(new TransportError('network', 'response aborted')));
        },
      );
      const timer = setTimeout(() => req.destroy(new TransportError('timeout', `no answer within ${o.timeoutMs} ms`)), o.timeoutMs);
      const onAbort = () => req.destroy(new TransportError('aborted', 'request aborted'));
      o.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => finish(err instanceof TransportError ? err : new TransportError('network', err.message, { cause: err })));
      req.end(payload);
    });
  }

  function stream(method: string, url: string, o: RequestOptions): Promise<StreamingResponse> {
    return new Promise<StreamingResponse>((resolve, reject) => {
      if (o.signal?.aborted) return reject(new TransportError('aborted', 'request aborted before it was sent'));
      const u = new URL(url);
      const lib = u.protocol === 'https:' ? https : http;
      const agent = agents[u.protocol as 'http:' | 'https:'];
      if (!agent) return reject(new TransportError('network', `unsupported protocol ${u.protocol}`));
      const headers: Record<string, string | number> = { accept: 'text/event-stream', ...o.headers };
      injectTraceHeaders(headers);
      let payload: Buffer | undefined;
      if (o.body !== undefined) {
        payload = Buffer.isBuffer(o.body) ? o.body : Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
        headers['content-type'] ??= 'application/json';
        headers['content-length'] = payload.length;
      }
      let response: IncomingMessage | undefined;
      const kill = (kind: TransportFailure, message: string) => req.destroy(new TransportError(kind, message));
      const cleanup = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
      };
      const req = lib.request({ protocol: u.protocol, hostname: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method, headers, agent }, (res) => {
        response = res;
        // Consumers listen for the body's errors; this one keeps a late error from going uncaught.
        res.on('error', () => {});
        res.once('close', cleanup);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: res,
          // A body read to its end leaves the socket to the agent (keep-alive): nothing to end then.
          destroy: (reason = 'aborted') => {
            if (!res.complete) kill(reason, 'request ended by the client');
          },
        });
      });
      const timer = setTimeout(() => kill('timeout', `no complete answer within ${o.timeoutMs} ms`), o.timeoutMs);
      const onAbort = () => kill('aborted', 'request aborted');
      o.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        const e = err instanceof TransportError ? err : new TransportError('network', err.message, { cause: err });
        if (!response) {
          cleanup();
          reject(e);
        } else if (!response.destroyed) {
          // A request destroyed mid-body surfaces on the body stream as the same TransportError.
          response.destroy(e);
        }
      });
      req.end(payload);
    });
  }

  return {
    request,
    stream,
    async json<T>(method: string, url: string, o: RequestOptions): Promise<JsonResponse<T>> {
      const res = await request(method, url, o);
      let body: T | undefined;
      if (res.bytes.length && JSON_TYPE.test(String(res.headers['content-type'] ?? ''))) {
        try {
          body = JSON.parse(res.bytes.toString('utf8')) as T;
        } catch {
          body = undefined;
        }
      }
      return { status: res.status, headers: res.headers, body };
    },
    get socketsCreated() {
      return socketsCreated;
    },
    close() {
      for (const agent of Object.values(agents)) agent.destroy();
    },
  };
}
