import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError } from '../platform/errors';
import { principalFromClaims, type Principal } from './principal';

/** Asymmetric algorithms only. `none` and every HS* are refused at construction. */
export const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'PS256'] as const;

const SUPPORTED_ALGORITHMS = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);

/** Longest token accepted before any parsing (Keycloak access tokens are a few KB). */
const MAX_TOKEN_LENGTH = 16 * 1024;

export interface TokenVerifierOptions {
  /** Exact `iss`, e.g. `https://kc.example.com/realms/agent-store` (no trailing slash). */
  issuer: string;
  /** This API's client id in Keycloak; must appear in `aud` (string or array). */
  audience: string;
  /**
   * A JWKS URL (fetched, cached, refetched on an unknown `kid` after the cooldown) or a key set.
   * Defaults to Keycloak's `{issuer}/protocol/openid-connect/certs`.
   */
  jwks?: URL | JSONWebKeySet;
  algorithms?: readonly string[];
  /** Allowed clock skew for `exp`/`nbf`/`iat`. Default 30. */
  clockToleranceSeconds?: number;
  /** When set, tokens whose `iat` is older than this are refused, whatever their `exp`. */
  maxTokenAgeSeconds?: number;
  /**
   * Also accept a token whose `aud` lacks the audience but whose `azp` equals it (a token the
   * API's own client requested for itself). Off by default: configure Keycloak's "Audience"
   * mapper so `aud` carries the API's client id instead.
   */
  acceptAzpAsAudience?: boolean;
  /** Remote JWKS tuning (ms). Defaults: cooldown 30 s, cache 10 min, timeout 5 s. */
  jwksCooldownMs?: number;
  jwksCacheMaxAgeMs?: number;
  jwksTimeoutMs?: number;
  /** For tests: the verification clock. */
  now?: () => Date;
  /**
   * Verified tokens are remembered (by their exact text) for at most this long, so a service
   * called many times with one token checks its signature once. Default 30 s; 0 turns it off.
   * A key removed from the JWKS stops a remembered token within this time.
   */
  verifiedCacheSeconds?: number;
}

/** Most verified tokens remembered at once (the oldest is forgotten first). */
const VERIFIED_CACHE_ENTRIES = 2_000;

export interface TokenVerifier {
  /** Resolves to the caller or rejects with AppError UNAUTHENTICATED (bad token) / DEPENDENCY_UNAVAILABLE (keys unreachable). */
  verify(token: string): Promise<Principal>;
}

const unauthenticated = (message: string, cause?: unknown) =>
  new AppError('UNAUTHENTICATED', message, undefined, cause === undefined ? undefined : { cause });

/** Keycloak's JWKS location for an issuer. */
export function keycloakJwksUrl(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, '')}/protocol/openid-connect/certs`);
}

function checkAlgorithms(algorithms: readonly string[]): string[] {
  if (algorithms.length === 0) throw new Error('token verifier: at least one algorithm is required');
  for (const alg of algorithms) {
    if (!SUPPORTED_ALGORITHMS.has(alg)) {
      throw new Error(`token verifier: algorithm ${JSON.stringify(alg)} is not allowed (asymmetric JWS algorithms only; never "none" or HS*)`);
    }
  }
  return [...algorithms];
}

function audienceMatches(payload: JWTPayload, audience: string, acceptAzp: boolean): boolean {
  const aud = payload.aud;
  if (typeof aud === 'string' && aud === audience) return true;
  if (Array.isArray(aud) && aud.includes(audience)) return true;
  return acceptAzp && payload.azp === audience;
}

/** The key set could not be fetched or read (network, timeout, non-200, not a JWKS). */
class KeySourceUnavailable extends Error {}

/** Lets "no such key" through as a token fault; anything else from the key source is an outage. */
function guardKeySource(keys: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (err) {
      if (
        err instanceof joseErrors.JWKSNoMatchingKey ||
        err instanceof joseErrors.JWKSMultipleMatchingKeys ||
        err instanceof joseErrors.JOSENotSupported
      ) {
        throw err;
      }
      throw new KeySourceUnavailable('key source unavailable', { cause: err });
    }
  };
}

/** Turns whatever jose (or the JWKS fetch) threw into the public error. Never echoes the token. */
function mapError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof joseErrors.JWTExpired) {
    return unauthenticated(err.claim === 'iat' ? 'token is too old' : 'token expired', err);
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss': return unauthenticated('wrong issuer', err);
      case 'aud': return unauthenticated('wrong audience', err);
      case 'nbf': return unauthenticated('token not yet valid', err);
      case 'iat': return unauthenticated('token issued in the future', err);
      case 'exp': return unauthenticated(err.reason === 'missing' ? 'token has no expiry' : 'token expired', err);
      default:
        return unauthenticated(err.reason === 'missing' ? `token lacks required claim ${err.claim}` : `invalid ${err.claim} claim`, err);
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) {
    return unauthenticated('signing algorithm not allowed', err);
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return unauthenticated('bad signature', err);
  if (err instanceof joseErrors.JWKSNoMatchingKey) return unauthenticated('unknown signing key', err);
  if (err instanceof joseErrors.JWKSMultipleMatchingKeys) return unauthenticated('ambiguous signing key', err);
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) {
    return unauthenticated('malformed token', err);
  }
  if (err instanceof KeySourceUnavailable) {
    // The identity provider's keys could not be fetched or read: not the caller's fault, and
    // nothing is let through (fail closed).
    return new AppError('DEPENDENCY_UNAVAILABLE', 'identity provider keys unavailable', undefined, { cause: err.cause });
  }
  return unauthenticated('token rejected', err);
}

function decodeHeader(token: string): Record<string, unknown> {
  const dot = token.indexOf('.');
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'));
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error('not an object');
    return header as Record<string, unknown>;
  } catch (cause) {
    throw unauthenticated('malformed token', cause);
  }
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { issuer, audience } = options;
  if (!issuer) throw new Error('token verifier: issuer is required');
  if (!audience) throw new Error('token verifier: audience is required');
  const algorithms = checkAlgorithms(options.algorithms ?? DEFAULT_ALGORITHMS);
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const acceptAzp = options.acceptAzpAsAudience ?? false;
  const source = options.jwks ?? keycloakJwksUrl(issuer);
  const keys: JWTVerifyGetKey = guardKeySource(
    source instanceof URL
      ? createRemoteJWKSet(source, {
          cooldownDuration: options.jwksCooldownMs,
          cacheMaxAge: options.jwksCacheMaxAgeMs,
          timeoutDuration: options.jwksTimeoutMs,
        })
      : createLocalJWKSet(source),
  );

  const cacheMs = Math.max(0, options.verifiedCacheSeconds ?? 30) * 1000;
  const verified = new Map<string, { principal: Principal; until: number }>();
  const nowMs = () => (options.now ? options.now().getTime() : Date.now());

  /**
   * How long a token just verified may be taken again without its signature checked: until the
   * cache time, its `exp` and its `maxTokenAge` (both with the clock tolerance, as jose applies
   * them), whichever comes first.
   */
  function remember(token: string, payload: JWTPayload, principal: Principal): void {
    if (cacheMs === 0) return;
    let until = nowMs() + cacheMs;
    if (typeof payload.exp === 'number') until = Math.min(until, (payload.exp + clockTolerance) * 1000);
    if (options.maxTokenAgeSeconds !== undefined && typeof payload.iat === 'number') until = Math.min(until, (payload.iat + options.maxTokenAgeSeconds + clockTolerance) * 1000);
    if (verified.size >= VERIFIED_CACHE_ENTRIES) verified.delete(verified.keys().next().value!);
    verified.set(token, { principal, until });
  }

  async function verify(token: string): Promise<Principal> {
    const hit = typeof token === 'string' ? verified.get(token) : undefined;
    if (hit) {
      if (nowMs() < hit.until) return hit.principal;
      verified.delete(token);
    }
    try {
      if (typeof token !== 'string' || token.length === 0) throw unauthenticated('missing token');
      if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated('malformed token');
      const parts = token.split('.');
      if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) throw unauthenticated('malformed token');
      // Checked before any key lookup, so a foreign algorithm never triggers a JWKS fetch.
      const header = decodeHeader(token);
      if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) throw unauthenticated('signing algorithm not allowed');
      if (typeof header.kid !== 'string' || header.kid.length === 0) throw unauthenticated('token has no key id');

      const { payload } = await jwtVerify(token, keys, {
        issuer,
        algorithms,
        clockTolerance,
        maxTokenAge: options.maxTokenAgeSeconds,
        requiredClaims: ['exp', 'iat', 'sub'],
        currentDate: options.now?.(),
      });
      if (!audienceMatches(payload, audience, acceptAzp)) throw unauthenticated('wrong audience');
      // Keycloak marks access tokens `typ: Bearer`; ID ("ID") and refresh ("Refresh") tokens are not access tokens.
      const typ = (payload as Record<string, unknown>).typ;
      if (typ !== undefined && (typeof typ !== 'string' || typ.toLowerCase() !== 'bearer')) {
        throw unauthenticated('not an access token');
      }
      let principal: Principal;
      try {
        principal = principalFromClaims(payload as Record<string, unknown>, audience);
      } catch (cause) {
        throw unauthenticated('malformed token claims', cause);
      }
      remember(token, payload, principal);
      return principal;
    } catch (err) {
      throw mapError(err);
    }
  }

  return { verify };
}
