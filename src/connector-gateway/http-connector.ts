/**
 * One HTTP call of the generic HTTP connector (and of the SaaS connectors built on it): the
 * target must be http(s), on the policy's allowed hosts, and — unless allowPrivateNetworks — not
 * resolve to a private/loopback/link-local address (src/platform/net-guard.ts; checked at connect time).
 * Redirects are followed by hand, at most 3, each hop checked the same way (a redirect to a
 * loopback or metadata address is refused). The credential headers are dropped when a redirect
 * leaves the original host. Timeout per attempt; responses capped at 1 MiB.
 */
import http from 'node:http';
import https from 'node:https';
import { AppError } from '../platform/errors';
import { guardedLookup, hostAllowed, resolveChecked, type Resolver } from '../platform/net-guard';

export interface HttpCall {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Headers carrying the credential; sent only to the original host. */
  credentialHeaders: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  allowedHosts: readonly string[];
  allowPrivateNetworks: boolean;
  resolver: Resolver;
  /** Tests only: where a checked address is dialled (see src/platform/net-guard.ts guardedLookup). */
  dial?: (address: string) => string;
  signal?: AbortSignal;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export class UpstreamTimeout extends Error {}
export class UpstreamNetworkError extends Error {}

const MAX_REDIRECTS = 3;
const MAX_BYTES = 1 << 20;
const PASSED_HEADERS = ['content-type', 'location', 'retry-after', 'etag', 'last-modified'];

export function policyDenied(message: string, details: Record<string, unknown>): AppError {
  return new AppError('POLICY_DENIED', message, details);
}

/** Parses and checks a target URL against the policy (scheme, host allow-list). */
export function checkTarget(raw: string, allowedHosts: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('VALIDATION_FAILED', 'input.url must be an absolute URL', { issues: [{ path: '/input/url', message: 'must be an absolute URL' }] });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw policyDenied('Only http and https targets are allowed', { scheme: url.protocol.replace(/:$/, '') });
  if (url.username || url.password) throw policyDenied('Targets must not carry user info', { host: url.hostname });
  if (!hostAllowed(url.hostname, allowedHosts)) throw policyDenied(`Host ${url.hostname} is not in the instance's allowed hosts`, { host: url.hostname, reason: 'host_not_allowed' });
  return url;
}

function once(call: HttpCall, url: URL, withCredential: boolean): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const payload = call.body === undefined ? undefined : Buffer.from(typeof call.body === 'string' ? call.body : JSON.stringify(call.body));
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers, ...(withCredential ? call.credentialHeaders : {}) };
    if (payload) {
      headers['content-type'] ??= typeof call.body === 'string' ? 'text/plain' : 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const req = mod.request(url, {
      method: call.method,
      headers,
      lookup: guardedLookup(call.allowPrivateNetworks, call.resolver, call.dial),
      timeout: call.timeoutMs,
      signal: call.signal,
      agent: false,
    });
    const timer = setTimeout(() => req.destroy(new UpstreamTimeout(`no answer within ${call.timeoutMs} ms`)), call.timeoutMs);
    req.on('timeout', () => req.destroy(new UpstreamTimeout(`no answer within ${call.timeoutMs} ms`)));
    req.on('error', (err) => {
      clearTimeout(timer);
      if (err instanceof AppError || err instanceof UpstreamTimeout) reject(err);
      else reject(new UpstreamNetworkError((err as NodeJS.ErrnoException).code ?? 'network error'));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BYTES) req.destroy(new UpstreamNetworkError('response larger than 1 MiB'));
        else chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        if ((res.headers['content-type'] ?? '').includes('json') && text) {
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
        }
        const out: Record<string, string> = {};
        for (const h of PASSED_HEADERS) if (typeof res.headers[h] === 'string') out[h] = res.headers[h] as string;
        resolve({ status: res.statusCode ?? 0, headers: out, body });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof UpstreamTimeout ? err : new UpstreamNetworkError('response aborted'));
      });
    });
    if (payload) req.write(payload);
    req.end();
  });
}

/** Executes the call, following (checked) redirects. Throws AppError POLICY_DENIED, UpstreamTimeout or UpstreamNetworkError. */
export async function executeHttp(call: HttpCall): Promise<HttpResult> {
  let url = checkTarget(call.url, call.allowedHosts);
  const origin = url.host;
  let method = call.method;
  let body = call.body;
  for (let hop = 0; ; hop++) {
    // IP literals skip the socket lookup: check them here (hostnames are checked again at connect).
    await resolveChecked(url.hostname, call.allowPrivateNetworks, call.resolver).catch((err) => {
      if (err instanceof AppError) throw err;
      throw new UpstreamNetworkError('the target host does not resolve');
    });
    const res = await once({ ...call, method, body }, url, url.host === origin);
    if (![301, 302, 303, 307, 308].includes(res.status) || !res.headers.location) return res;
    if (hop >= MAX_REDIRECTS) throw policyDenied('Too many redirects', { host: url.hostname, reason: 'redirects' });
    url = checkTarget(new URL(res.headers.location, url).toString(), call.allowedHosts);
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
    }
  }
}
