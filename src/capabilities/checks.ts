/**
 * Semantic checks shared by capability handlers' `validate()`: origins, host names, outbound URLs,
 * time zones, language tags, duplicates. Each returns a problem message, or undefined when fine.
 */
import { isIP } from 'node:net';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Allowed-origin rule (web widget, CORS):
 * - exactly `scheme://host[:port]`, written as a browser sends it in `Origin` (lower-case host, no
 *   default port, no path — not even `/` —, query, fragment or user info);
 * - `https`, except `http://localhost`, `http://127.0.0.1` and `http://[::1]` (any port) for local
 *   development;
 * - the only wildcard is a whole leftmost label, `https://*.example.com`: it allows every subdomain
 *   of example.com (not example.com itself) and needs at least two labels after it, so
 *   `https://*.com`, `https://*` and `https://app*.example.com` are refused.
 */
export function originProblem(origin: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i.exec(origin);
  if (!m) return 'must be an origin, scheme://host[:port]';
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  if (rest !== '') return 'must be an origin only (scheme://host[:port]), without a path, query or fragment';
  if (authority.includes('@')) return 'must not contain user info';
  const wildcard = authority.startsWith('*.');
  if (authority.slice(wildcard ? 2 : 0).includes('*')) return 'may use * only as the whole leftmost label (https://*.example.com)';
  const concrete = wildcard ? `wildcard-label.${authority.slice(2)}` : authority;
  let url: URL;
  try {
    url = new URL(`${scheme}://${concrete}`);
  } catch {
    return 'is not a valid origin';
  }
  const host = url.hostname;
  if (scheme.toLowerCase() === 'http') {
    if (!LOOPBACK_HOSTS.has(host) || wildcard) return 'must use https (http is allowed only for localhost, 127.0.0.1 and [::1])';
  } else if (scheme.toLowerCase() !== 'https') {
    return 'must use https';
  }
  if (url.origin !== `${scheme}://${concrete}`) {
    const asSent = wildcard ? url.origin.replace('wildcard-label.', '*.') : url.origin;
    return `must be written as browsers send it: ${asSent}`;
  }
  if (wildcard) {
    if (isIP(host.replace(/^wildcard-label\./, '')) || host.startsWith('wildcard-label.[')) return 'a wildcard needs a domain name, not an IP address';
    if (host.split('.').length < 3) return 'a wildcard needs at least two labels after it (https://*.example.com)';
  }
  return undefined;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * Host-name rule (connector allowedHosts): a DNS name (labels of 1–63 letters, digits or inner
 * hyphens, 253 characters at most, a top-level label that is not all digits) or an IPv4 address;
 * a leading `*.` allows subdomains and needs at least two labels after it.
 */
export function hostProblem(host: string): string | undefined {
  const wildcard = host.startsWith('*.');
  const name = wildcard ? host.slice(2) : host;
  if (isIP(name) === 4) return wildcard ? 'a wildcard needs a domain name, not an IP address' : undefined;
  if (name.length === 0 || name.length > 253) return 'must be a host name of 1-253 characters';
  const labels = name.split('.');
  if (labels.some((l) => !LABEL.test(l))) return 'must be a valid host name (labels of letters, digits and inner hyphens, 63 characters at most)';
  if (/^\d+$/.test(labels[labels.length - 1]!)) return 'must be a valid host name or IPv4 address';
  if (wildcard && labels.length < 2) return 'a wildcard needs at least two labels after it (*.example.com)';
  return undefined;
}

function ipv4Private(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
}

/** Loopback, private, link-local or local-only targets (what SSRF protection blocks). */
export function isPrivateHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || h.endsWith('.internal')) return true;
  if (isIP(h) === 4) return ipv4Private(h);
  if (isIP(h) === 6) {
    if (h === '::1' || h === '::') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped) return ipv4Private(mapped[1]!);
    return /^f[cd]/.test(h) || /^fe[89ab]/.test(h);
  }
  return false;
}

const CREDENTIAL_PARAM = /(token|secret|password|passwd|pwd|api[-_]?key|apikey|access[-_]?key|auth|signature|sig|credential)/i;

/**
 * Outbound URL rule (webhooks, MCP servers, OTLP endpoints): https only, a public host (no
 * loopback, private or link-local target), no user info and no credential-looking query parameter
 * (credentials belong in a connector binding, which keeps them in Vault), no fragment.
 */
export function httpsUrlProblem(value: string, opts: { allowQuery?: boolean } = {}): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:') return 'must use https';
  if (url.username || url.password) return 'must not contain credentials (use a connector binding)';
  if (url.hash) return 'must not have a fragment';
  if (isPrivateHost(url.hostname)) return 'must point to a public host, not a loopback, private or link-local address';
  for (const key of url.searchParams.keys()) {
    if (CREDENTIAL_PARAM.test(key)) return `must not carry credentials in the query (${key}); use a connector binding`;
  }
  if (url.search && opts.allowQuery === false) return 'must not have a query string';
  return undefined;
}

export function timeZoneProblem(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return undefined;
  } catch {
    return `is not an IANA time zone: ${timeZone}`;
  }
}

/** The canonical form of a BCP 47 language tag (`en-us` → `en-US`), or undefined when invalid. */
export function canonicalLanguage(tag: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/** Indexes of entries whose key repeats an earlier entry's key. */
export function repeatedIndexes<T>(items: readonly T[], key: (item: T) => string): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) out.push(i);
    seen.add(k);
  });
  return out;
}

/** A blank (empty or whitespace-only) string. */
export const isBlank = (s: string | undefined): boolean => s !== undefined && s.trim() === '';
