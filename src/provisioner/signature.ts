/**
 * Saleor webhook authentication, on the exact request bytes (never on re-serialized JSON).
 * Follows Saleor's own signer: `saleor/core/jwt_manager.py` (`jws_encode`: pyjwt
 * `api_jws.encode(payload, RS256, headers={"kid", "crit": ["b64"]}, is_payload_detached=True)`;
 * before saleor PR #15485 — 3.20.0, 3.19.1 and the 3.14.54/3.15.28/3.16.24/3.17.22/3.18.16
 * backports — without `crit`), `saleor/webhook/transport/__init__.py` (`signature_for_payload`:
 * the JWS, or the hex HMAC-SHA256 when the webhook has a secret key) and pyjwt's
 * `jwt/api_jws.py` (the header JSON, base64url without padding, the detached payload).
 *
 * Order of checks (each refusal is final; nothing is stored or forwarded before `verify` returns),
 * and the status Saleor sees — it never retries a 3xx/4xx, and retries 5xx/timeouts 5 times:
 * 1. `Saleor-Event` is exactly `order_fully_paid`                      → else 400 VALIDATION_FAILED
 * 2. `Saleor-Api-Url` is exactly an allow-listed API URL                → else 403 FORBIDDEN
 *    (`SALEOR_API_URLS`), and `Saleor-Domain`, when sent, is its host
 * 3. `Saleor-Signature` verifies                                        → else 401 SIGNATURE_INVALID
 *    - JWS with detached unencoded payload (RFC 7797): protected header alg RS256, b64 false,
 *      `crit: ["b64"]` or no `crit` at all (both Saleor forms), kid. Verified byte-exact with
 *      `crypto.verify` over `b64url(protected) + "." + raw body` — jose's flattenedVerify honours
 *      `b64: false` only when `crit` names it, so it cannot check the older form — against the
 *      instance's JWKS at `<origin>/.well-known/jwks.json` (only the configured origin is ever
 *      fetched, never a URL taken from the request);
 *    - or, only for an instance with a legacy secret (`SALEOR_WEBHOOK_SECRETS`), the lowercase hex
 *      HMAC-SHA256 of the raw body, compared in constant time.
 * What is on our side answers 503 DEPENDENCY_UNAVAILABLE, so Saleor redelivers later: its JWKS
 * unreachable, or a `kid` we do not know while the JWKS refetch is cooling down (or failing).
 *
 * JWKS cache: per Saleor origin, trusted for `ttlMs`. When a verification fails (unknown kid or a
 * signature that does not verify) the JWKS is fetched again ONCE and the verification retried —
 * this is how Saleor key rotation is picked up. That refetch is rate-limited per origin
 * (`refetchCooldownMs` since the last fetch) and concurrent fetches are coalesced, so a stream of
 * forged requests costs Saleor at most one JWKS request per cooldown. A kid still unknown after
 * that refetch is refused (401); a known key whose signature does not verify is refused (401).
 *
 * Secrets and signatures are never logged and never appear in error details.
 */
import { createHmac, createPublicKey, type JsonWebKey, type KeyObject, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { normalizeSaleorApiUrl } from '../platform/config';
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
  /** Which JWS header form Saleor sent: with `crit: ["b64"]` (3.20+, backports) or without (earlier releases). */
  jwsHeader?: 'crit' | 'no-crit';
}

export interface SaleorSignatureVerifier {
  /** Resolves when the webhook is authentic; throws the canonical AppError otherwise. */
  verify(headers: SaleorWebhookHeaders, rawBody: Uint8Array): Promise<VerifiedSaleorWebhook>;
}

export interface JwksFetcher {
  /** Returns the JWKS document at `url`; throws when it cannot be fetched. */
  (url: string): Promise<unknown>;
}

export interface SaleorVerifierOptions {
  /** Allow-listed Saleor API URLs (normalized; see src/platform/config/sections/saleor.ts). */
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
  keys: Map<string, KeyObject>;
  fetchedAt: number;
  /** Last fetch attempt (successful or not), for the cooldown. */
  attemptedAt: number;
  inflight?: Promise<{ entry: CacheEntry; ok: boolean }>;
}

/** Keys shorter than this are refused (Saleor makes 2048-bit keys). */
const MIN_RSA_BITS = 2048;

/** The RS256 signing keys of a JWKS document, by kid (others are ignored). */
function importKeys(doc: unknown): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const list = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('JWKS document has no "keys" array');
  for (const jwk of list as JsonWebKey[]) {
    const kid = (jwk as { kid?: unknown } | null)?.kid;
    if (!jwk || jwk.kty !== 'RSA' || typeof kid !== 'string' || !kid) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.alg !== undefined && jwk.alg !== 'RS256') continue;
    try {
      const key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
      if ((key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS) keys.set(kid, key);
    } catch {
      // A malformed key is skipped, not fatal: the other keys stay usable.
    }
  }
  return keys;
}

export function createSaleorSignatureVerifier(opts: SaleorVerifierOptions): SaleorSignatureVerifier {
  const allowed = new Set(opts.apiUrls);
  const secrets = opts.webhookSecrets ?? {};
  const ttlMs = opts.ttlMs ?? 600_000;
  const cooldownMs = opts.refetchCooldownMs ?? 10_000;
  const fetchJwks = opts.fetchJwks ?? fetchJwksOverHttp;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  const unreachable = (origin: string, message = 'The Saleor instance\'s signing keys (JWKS) could not be fetched') =>
    new AppError('DEPENDENCY_UNAVAILABLE', message, { saleorOrigin: origin, reason: 'jwks_unavailable' });

  /** Fetches the JWKS (coalescing concurrent fetches); `ok` says whether this fetch succeeded. */
  function load(origin: string, reason: 'initial' | 'expired' | 'verification_failed'): Promise<{ entry: CacheEntry; ok: boolean }> {
    const previous = cache.get(origin);
    if (previous?.inflight) return previous.inflight;
    const entry: CacheEntry = previous ?? { keys: new Map(), fetchedAt: -Infinity, attemptedAt: -Infinity };
    entry.attemptedAt = now();
    cache.set(origin, entry);
    entry.inflight = (async () => {
      try {
        entry.keys = importKeys(await fetchJwks(origin + JWKS_PATH));
        entry.fetchedAt = now();
        opts.onJwksFetch?.({ origin, reason, ok: true });
        return { entry, ok: true };
      } catch {
        opts.onJwksFetch?.({ origin, reason, ok: false });
        // Keys fetched earlier stay usable (a Saleor blip must not refuse validly signed webhooks).
        return { entry, ok: false };
      } finally {
        entry.inflight = undefined;
      }
    })();
    return entry.inflight;
  }

  /** The cached keys (fetched when missing or expired); `fresh` when fetched for this request. */
  async function keysFor(origin: string): Promise<{ entry: CacheEntry; fresh: boolean }> {
    const entry = cache.get(origin);
    if (entry?.inflight) {
      const r = await entry.inflight;
      if (!r.ok && r.entry.keys.size === 0) throw unreachable(origin);
      return { entry: r.entry, fresh: r.ok };
    }
    const coolingDown = entry !== undefined && now() - entry.attemptedAt < cooldownMs;
    if (!entry || entry.keys.size === 0) {
      // Never fetched, or every fetch failed so far: try again, at most once per cooldown.
      if (coolingDown) throw unreachable(origin);
      const r = await load(origin, 'initial');
      if (!r.ok) throw unreachable(origin);
      return { entry: r.entry, fresh: true };
    }
    const age = now() - entry.fetchedAt;
    if (age > ttlMs && !coolingDown) {
      const r = await load(origin, 'expired');
      // Stale keys bridge a Saleor JWKS outage, but not forever.
      if (now() - r.entry.fetchedAt > MAX_STALE_MS) throw unreachable(origin, 'The Saleor instance\'s signing keys (JWKS) could not be refreshed');
      return { entry: r.entry, fresh: r.ok };
    }
    if (age > MAX_STALE_MS) throw unreachable(origin, 'The Saleor instance\'s signing keys (JWKS) could not be refreshed');
    return { entry, fresh: false };
  }

  /**
   * One rate-limited refetch after a failed verification: the refreshed keys, or undefined when
   * the cooldown forbids a fetch now or the fetch failed (we could not check).
   */
  async function refetch(origin: string): Promise<CacheEntry | undefined> {
    const entry = cache.get(origin);
    if (!entry?.inflight && entry && now() - entry.attemptedAt < cooldownMs) return undefined;
    const r = await load(origin, 'verification_failed');
    return r.ok ? r.entry : undefined;
  }

  async function verifyJws(origin: string, signature: string, body: Uint8Array): Promise<{ kid: string; crit: boolean }> {
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
    // Saleor ≥ 3.20 (and the 3.14–3.19 backports) declare crit ["b64"]; earlier releases send no
    // crit at all. Both are accepted; any other crit names an extension we do not understand.
    const crit = protectedHeader.crit;
    if (crit !== undefined && (!Array.isArray(crit) || crit.length !== 1 || crit[0] !== 'b64')) {
      throw invalid('Saleor-Signature declares a critical header other than b64', 'crit');
    }
    const kid = protectedHeader.kid;
    if (typeof kid !== 'string' || !kid) throw invalid('Saleor-Signature has no key id (kid)', 'kid');

    // RFC 7797 §3 signing input: the protected header as sent, a dot, and the raw body bytes.
    const signingInput = Buffer.concat([Buffer.from(`${protectedB64}.`, 'ascii'), body]);
    const sig = Buffer.from(sigB64, 'base64url');
    const verifies = (key: KeyObject) => cryptoVerify('RSA-SHA256', signingInput, key, sig);
    const result = { kid, crit: crit !== undefined };

    const cached = await keysFor(origin);
    const key = cached.entry.keys.get(kid);
    if (key && verifies(key)) return result;
    if (key || cached.fresh) {
      // A known key that does not verify (forged, or the body was altered); or a kid missing from
      // keys fetched for this very request. One rate-limited refetch covers a rotation either way.
      const refreshed = cached.fresh ? undefined : await refetch(origin);
      const again = refreshed?.keys.get(kid);
      if (again && verifies(again)) return result;
      throw invalid('Saleor-Signature does not verify against the body with the Saleor instance\'s keys', 'verification_failed');
    }
    // An unknown kid: Saleor may have rotated its key. Refetch once (rate-limited); when the
    // refetch may not run yet or fails, that is on our side — 503, and Saleor redelivers.
    const refreshed = await refetch(origin);
    if (!refreshed) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', 'The signing key is not known yet and the Saleor instance\'s JWKS was refetched moments ago; Saleor will redeliver', { saleorOrigin: origin, reason: 'jwks_refetch_cooldown' }, { headers: { 'Retry-After': String(Math.ceil(cooldownMs / 1000)) } });
    }
    const rotated = refreshed.keys.get(kid);
    if (rotated && verifies(rotated)) return result;
    throw invalid(rotated ? 'Saleor-Signature does not verify against the body with the Saleor instance\'s keys' : 'Saleor-Signature names a key the Saleor instance does not publish', rotated ? 'verification_failed' : 'unknown_kid');
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
      // The instance is its exact API URL (as Saleor builds it: scheme, host, port, path).
      const configured = normalizeSaleorApiUrl(api.href);
      if (!configured || !allowed.has(configured)) {
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
      const { kid, crit } = await verifyJws(api.origin, signature, rawBody);
      return { apiUrl: configured, origin: api.origin, method: 'jws', kid, jwsHeader: crit ? 'crit' : 'no-crit' };
    },
  };
}
