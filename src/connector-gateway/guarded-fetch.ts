/**
 * A WHATWG `fetch` for the MCP client (the SDK's transports take one as `fetch`), over the SSRF
 * guard of the generic HTTP connector (src/platform/net-guard.ts):
 * - https only (unless `allowInsecure`), no user info, the host on `allowedHosts`;
 * - every address the host resolves to is checked at connect time (`guardedLookup`: the address
 *   connected to is the address checked, so a DNS answer that turns private is refused on the
 *   next connection); IP literals are checked before connecting;
 * - redirects are never followed here: a 3xx is returned as it is (`redirect: 'manual'`). The
 *   SDK follows same-origin redirects by calling this fetch again, so each hop is checked the
 *   same way, and a redirect to another origin is not followed at all;
 * - the credential headers are added here, and only to requests to `credentialHost`: they never
 *   pass through the SDK, so no SDK error message or log can carry them;
 * - a response body larger than `maxBytes` is cut off with an error.
 */
import http from 'node:http';
import https from 'node:https';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { AppError } from '../platform/errors';
import { checkTarget, policyDenied } from './http-connector';
import { guardedLookup, resolveChecked, type Resolver } from '../platform/net-guard';

export interface GuardedFetchOptions {
  allowedHosts: readonly string[];
  allowPrivateNetworks: boolean;
  /** Plain http allowed (never for MCP servers, whose configuration is https-only). */
  allowInsecure?: boolean;
  resolver: Resolver;
  /** Tests only: where a checked address is dialled (see src/platform/net-guard.ts guardedLookup). */
  dial?: (address: string) => string;
  /** Tests only: a CA to trust besides the system's (a test server's self-signed certificate). */
  ca?: string | Buffer;
  /** Headers carrying the credential, sent only to `credentialHost` (a URL `host`, with port). */
  credentialHeaders: Record<string, string>;
  credentialHost: string;
  maxBytes: number;
}

/** The connection failed or broke (refused, reset, TLS, DNS); `reason` is the error code only. */
export class FetchNetworkError extends Error {
  constructor(readonly reason: string) {
    super(`network error: ${reason}`);
    this.name = 'FetchNetworkError';
  }
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function headersOf(init: RequestInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const h = init?.headers;
  if (!h) return out;
  if (h instanceof Headers) h.forEach((v, k) => (out[k.toLowerCase()] = v));
  else for (const [k, v] of Array.isArray(h) ? (h as [string, string][]) : Object.entries(h as Record<string, string>)) out[k.toLowerCase()] = String(v);
  return out;
}

function bodyOf(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError('guardedFetch sends string or byte bodies only');
}

/**
 * The response as a web stream, with backpressure, capped at `maxBytes`. Written by hand rather
 * than with `Readable.toWeb`, whose Node 20 version throws (uncaught) when data arrives after the
 * reader cancelled — which the SDK does when it is done with a stream.
 */
function webBody(res: http.IncomingMessage, maxBytes: number): ReadableStream<Uint8Array> {
  let size = 0;
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        try {
          if (err) controller.error(err);
          else controller.close();
        } catch {
          // already closed by the reader
        }
      };
      res.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size > maxBytes) {
          finish(new FetchNetworkError(`response larger than ${maxBytes} bytes`));
          res.destroy();
          return;
        }
        controller.enqueue(new Uint8Array(chunk));
        if ((controller.desiredSize ?? 1) <= 0) res.pause();
      });
      res.on('end', () => finish());
      res.on('error', () => finish(new FetchNetworkError('response aborted')));
      res.on('close', () => finish(res.complete ? undefined : new FetchNetworkError('response aborted')));
    },
    pull() {
      res.resume();
    },
    cancel() {
      done = true;
      res.destroy();
    },
  }, { highWaterMark: 16 });
}

export function guardedFetch(o: GuardedFetchOptions): FetchLike {
  return async (input, init) => {
    const url = checkTarget(String(input), o.allowedHosts);
    if (url.protocol !== 'https:' && !o.allowInsecure) throw policyDenied('Only https targets are allowed', { host: url.hostname, reason: 'insecure_scheme' });
    // IP literals skip the socket lookup: check them here (hostnames are checked at connect).
    await resolveChecked(url.hostname, o.allowPrivateNetworks, o.resolver).catch((err) => {
      if (err instanceof AppError) throw err;
      throw new FetchNetworkError('ENOTFOUND');
    });
    const headers = { ...headersOf(init), ...(url.host === o.credentialHost ? o.credentialHeaders : {}) };
    const payload = bodyOf(init?.body);
    if (payload) headers['content-length'] = String(payload.length);
    const method = (init?.method ?? 'GET').toUpperCase();
    const signal = init?.signal ?? undefined;
    return new Promise<Response>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, {
        method,
        headers,
        lookup: guardedLookup(o.allowPrivateNetworks, o.resolver, o.dial),
        signal,
        agent: false,
        ...(url.protocol === 'https:' && o.ca ? { ca: o.ca } : {}),
      });
      req.on('error', (err) => {
        if (err instanceof AppError) return reject(err);
        if ((err as Error).name === 'AbortError') return reject(err);
        reject(new FetchNetworkError((err as NodeJS.ErrnoException).code ?? 'network error'));
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 502;
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) out.append(k, one);
        }
        let body: ReadableStream<Uint8Array> | null = null;
        if (NULL_BODY.has(status) || method === 'HEAD') res.resume();
        else body = webBody(res, o.maxBytes);
        resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers: out }));
      });
      if (payload) req.write(payload);
      req.end();
    });
  };
}
