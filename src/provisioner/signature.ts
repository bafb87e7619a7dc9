/**
 * Saleor webhook authentication, on the exact request bytes (never on re-serialized JSON).
 *
 * Order of checks (each refusal is final; nothing is stored or forwarded before `verify` returns):
 * 1. `Saleor-Event` is exactly `order_fully_paid`                      → else 400 VALIDATION_FAILED
 * 2. `Saleor-Api-Url` is an absolute URL whose origin is allow-listed   → else 403 FORBIDDEN
 *    (`SALEOR_API_URLS`), and `Saleor-Domain`, when sent, is its host
 * 3. `Saleor-Signature` verifies                                        → else 401 SIGNATURE_INVALID
 *    - JWS with detached unencoded payload (RFC 7797): protected header alg RS256, b64 false,
 *      crit ["b64"], kid; verified with jose's flattenedVerify (payload = the raw body) against the
 *      instance's JWKS at `<origin>/.well-known/jwks.json` (only the configured origin is ever
 *      fetched, never a URL taken from the request);
 *    - or, only for an instance with a legacy secret (`SALEOR_WEBHOOK_SECRETS`), the lowercase hex
 *      HMAC-SHA256 of the raw body, compared in constant time.
 * Saleor's JWKS being unreachable is not the sender's fault: 503 DEPENDENCY_UNAVAILABLE, so Saleor
 * redelivers later.
 *
 * JWKS cache: per Saleor origin, trusted for `ttlMs`. When a verification fails (unknown kid or a
 * signature that does not verify) the JWKS is fetched again ONCE and the verification retried —
 * this is how Saleor key rotation is picked up. That refetch is rate-limited per origin
 * (`refetchCooldownMs` since the last fetch) and concurrent fetches are coalesced, so a stream of
 * forged requests costs Saleor at most one JWKS request per cooldown.
 *
 * Secrets and signatures are never logged and never appear in error details.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { flattenedVerify, importJWK, type JWK } from 'jose';
import { saleorOrigin } from '../platform/config';
import { AppError } from '../platform/errors';

export const SALEOR_EVENT = 'order_fully_paid';

export interface SaleorWebhookHeaders {
  /** Header names are matched case-insensitively: pass the request's lower-cased header map. */
  [name: string]: string | undefined;
}

export interface VerifiedSaleorWebhook {
  /** The allow-listed API URL the webhook came from (normalized). */
  apiUrl: string;
  origin: string;
  method: 'jws' | 'hmac';
  /** Key id of the JWS signature. */
  kid?: string;
}

export interface SaleorSignatureVerifier {
  /** Resolves when the webhook is authentic; throws the canonical AppError otherwise. */
  verify(headers: SaleorWebhookHeaders, rawBody: Uint8Array): Promise<VerifiedSaleorWebhook>;
}

type KeyLike = Awaited<ReturnType<typeof importJWK>>;

export interface JwksFetcher {
  /** Returns the JWKS document at `url`; throws when it cannot be fetched. */
  (url: string): Promise<unknown>;
}

export interface SaleorVerifierOptions {
  /** Allow-listed Saleor API URLs (normalized; see config-saleor.ts). */
  apiUrls: string[];
  /** Legacy HMAC secrets by Saleor origin. */
  webhookSecrets?: Record<string, string>;
  ttlMs?: number;
  refetchCooldownMs?: number;
  fetchJwks?: JwksFetcher;
  now?: () => number;
  /** Called after every JWKS fetch (metrics, tests). */
  onJwksFetch?: (info: { origin: string; reason: 'initial' | 'expired' | 'verification_failed'; ok: boolean }) => void;
}

const JWKS_PATH = '/.well-known/jwks.json';
const JWKS_TIMEOUT_MS = 5000;
const JWKS_MAX_BYTES = 256 * 1024;
/** Keys older than this are not used even when Saleor's JWKS cannot be fetched. */
const MAX_STALE_MS = 24 * 3600_000;
const B64URL = /^[A-Za-z0-9_-]+$/;
const HMAC_HEX = /^[0-9a-f]{64}$/;

const header = (h: SaleorWebhookHeaders, name: string): string | undefined => {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === lower && v !== undefined) return v;
  return undefined;
};

const invalid = (message: string, reason: string) => new AppError('SIGNATURE_INVALID', message, { reason });

/** Fetches a JWKS with a timeout and a size limit; redirects are refused. */
export async function fetchJwksOverHttp(url: string): Promise<unknown> {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(JWKS_TIMEOUT_MS), headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`JWKS answered HTTP ${res.status}`);
  const text = await res.text();
  if (text.length > JWKS_MAX_BYTES) throw new Error('JWKS document is too large');
  return JSON.parse(text) as unknown;
}

interface CacheEntry {
  keys: Map<string, KeyLike>;
  fetchedAt: number;
  /** Last fetch attempt (successful or not), for the cooldown. */
  attemptedAt: number;
  inflight?: Promise<CacheEntry>;
}

/** The RS256 signing keys of a JWKS document, by kid (others are ignored). */
async function importKeys(doc: unknown): Promise<Map<string, KeyLike>> {
  const keys = new Map<string, KeyLike>();
  const list = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('JWKS document has no "keys" array');
  for (const jwk of list as JWK[]) {
    if (!jwk || jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || !jwk.kid) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.alg !== undefined && jwk.alg !== 'RS256') continue;
    try {
      keys.set(jwk.kid, await importJWK({ kty: jwk.kty, n: jwk.n, e: jwk.e }, 'RS256'));
    } catch {
      // A malformed key is skipped, not fatal: the other keys stay usable.
    }
  }
  return keys;
}

export function createSaleorSignatureVerifier(opts: SaleorVerifierOptions): SaleorSignatureVerifier {
  const allowed = new Map(opts.apiUrls.map((u) => [saleorOrigin(u), u]));
  const secrets = opts.webhookSecrets ?? {};
  const ttlMs = opts.ttlMs ?? 600_000;
  const cooldownMs = opts.refetchCooldownMs ?? 10_000;
  const fetchJwks = opts.fetchJwks ?? fetchJwksOverHttp;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();

  async function load(origin: string, reason: 'initial' | 'expired' | 'verification_failed'): Promise<CacheEntry> {
    const previous = cache.get(origin);
    if (previous?.inflight) return previous.inflight;
    const entry: CacheEntry = previous ?? { keys: new Map(), fetchedAt: -Infinity, attemptedAt: -Infinity };
    entry.attemptedAt = now();
    cache.set(origin, entry);
    entry.inflight = (async () => {
      try {
        entry.keys = await importKeys(await fetchJwks(origin + JWKS_PATH));
        entry.fetchedAt = now();
        opts.onJwksFetch?.({ origin, reason, ok: true });
        return entry;
      } catch (err) {
        opts.onJwksFetch?.({ origin, reason, ok: false });
        // Keys fetched earlier stay usable (a Saleor blip must not refuse validly signed webhooks).
        if (entry.keys.size > 0) return entry;
        throw new AppError('DEPENDENCY_UNAVAILABLE', 'The Saleor instance\'s signing keys (JWKS) could not be fetched', { saleorOrigin: origin }, { cause: err });
      } finally {
        entry.inflight = undefined;
      }
    })();
    return entry.inflight;
  }

  async function keysFor(origin: string): Promise<CacheEntry> {
    const entry = cache.get(origin);
    if (entry?.inflight) return entry.inflight;
    const coolingDown = entry !== undefined && now() - entry.attemptedAt < cooldownMs;
    if (!entry || entry.keys.size === 0) {
      // Never fetched, or every fetch failed so far: try again, at most once per cooldown.
      if (coolingDown) throw new AppError('DEPENDENCY_UNAVAILABLE', 'The Saleor instance\'s signing keys (JWKS) could not be fetched', { saleorOrigin: origin });
      return load(origin, 'initial');
    }
    const age = now() - entry.fetchedAt;
    if (age > ttlMs && !coolingDown) {
      const fresh = await load(origin, 'expired');
      // Stale keys bridge a Saleor JWKS outage, but not forever.
      if (now() - fresh.fetchedAt > MAX_STALE_MS) throw new AppError('DEPENDENCY_UNAVAILABLE', 'The Saleor instance\'s signing keys (JWKS) could not be refreshed', { saleorOrigin: origin });
      return fresh;
    }
    if (age > MAX_STALE_MS) throw new AppError('DEPENDENCY_UNAVAILABLE', 'The Saleor instance\'s signing keys (JWKS) could not be refreshed', { saleorOrigin: origin });
    return entry;
  }

  /** One rate-limited refetch after a failed verification; undefined when the cooldown forbids it. */
  async function refetch(origin: string): Promise<CacheEntry | undefined> {
    const entry = cache.get(origin);
    if (entry?.inflight) return entry.inflight;
    if (entry && now() - entry.attemptedAt < cooldownMs) return undefined;
    return load(origin, 'verification_failed');
  }

  async function verifyJws(origin: string, signature: string, body: Uint8Array): Promise<string> {
    const parts = signature.split('.');
    if (parts.length !== 3 || parts[1] !== '' || !B64URL.test(parts[0]!) || !B64URL.test(parts[2]!)) {
      throw invalid('Saleor-Signature is not a detached JWS (<protected>..<signature>)', 'malformed');
    }
    const [protectedB64, , sigB64] = parts as [string, string, string];
    let protectedHeader: Record<string, unknown>;
    try {
      protectedHeader = JSON.parse(Buffer.from(protectedB64, 'base64url').toString('utf8')) as Record<string, unknown>;
      if (!protectedHeader || typeof protectedHeader !== 'object' || Array.isArray(protectedHeader)) throw new Error('not an object');
    } catch {
      throw invalid('Saleor-Signature has an unreadable JWS header', 'malformed');
    }
    if (protectedHeader.alg !== 'RS256') throw invalid('Saleor-Signature must be signed with RS256', 'algorithm');
    if (protectedHeader.b64 !== false) throw invalid('Saleor-Signature must have an unencoded payload (b64: false)', 'b64');
    const crit = protectedHeader.crit;
    if (!Array.isArray(crit) || crit.length !== 1 || crit[0] !== 'b64') throw invalid('Saleor-Signature must declare crit ["b64"]', 'crit');
    const kid = protectedHeader.kid;
    if (typeof kid !== 'string' || !kid) throw invalid('Saleor-Signature has no key id (kid)', 'kid');

    const attempt = async (entry: CacheEntry): Promise<boolean> => {
      const key = entry.keys.get(kid);
      if (!key) return false;
      try {
        await flattenedVerify({ protected: protectedB64, payload: body, signature: sigB64 }, key, { algorithms: ['RS256'] });
        return true;
      } catch {
        return false;
      }
    };
    if (await attempt(await keysFor(origin))) return kid;
    const refreshed = await refetch(origin);
    if (refreshed && (await attempt(refreshed))) return kid;
    throw invalid('Saleor-Signature does not verify against the body with the Saleor instance\'s keys', 'verification_failed');
  }

  function verifyHmac(origin: string, signature: string, body: Uint8Array): void {
    const secret = secrets[origin];
    if (!secret) throw invalid('Legacy HMAC signatures are not accepted from this Saleor instance', 'hmac_not_configured');
    const expected = createHmac('sha256', secret).update(body).digest();
    if (!timingSafeEqual(Buffer.from(signature, 'hex'), expected)) {
      throw invalid('Saleor-Signature does not match the body', 'verification_failed');
    }
  }

  return {
    async verify(headers, rawBody) {
      const event = header(headers, 'Saleor-Event');
      if (event !== SALEOR_EVENT) {
        throw new AppError('VALIDATION_FAILED', `Saleor-Event must be ${SALEOR_EVENT}`, {
          errors: [{ path: '/header/saleor-event', message: `must be equal to ${SALEOR_EVENT}` }],
        });
      }
      const apiUrlHeader = header(headers, 'Saleor-Api-Url');
      let api: URL;
      try {
        api = new URL(apiUrlHeader ?? '');
      } catch {
        throw new AppError('FORBIDDEN', 'Saleor-Api-Url is missing or not an absolute URL', { reason: 'unknown_saleor' });
      }
      const configured = allowed.get(api.origin);
      if (!configured || !['http:', 'https:'].includes(api.protocol)) {
        throw new AppError('FORBIDDEN', 'Saleor-Api-Url is not an allowed Saleor instance', { reason: 'unknown_saleor', saleorApiUrl: api.href.slice(0, 300) });
      }
      const domain = header(headers, 'Saleor-Domain');
      if (domain !== undefined) {
        const d = domain.trim().toLowerCase();
        if (d !== api.host.toLowerCase() && d !== api.hostname.toLowerCase()) {
          throw new AppError('FORBIDDEN', 'Saleor-Domain does not match Saleor-Api-Url', { reason: 'domain_mismatch' });
        }
      }
      const signature = header(headers, 'Saleor-Signature')?.trim();
      if (!signature) throw invalid('Saleor-Signature is missing', 'missing');
      if (HMAC_HEX.test(signature)) {
        verifyHmac(api.origin, signature, rawBody);
        return { apiUrl: configured, origin: api.origin, method: 'hmac' };
      }
      const kid = await verifyJws(api.origin, signature, rawBody);
      return { apiUrl: configured, origin: api.origin, method: 'jws', kid };
    },
  };
}
