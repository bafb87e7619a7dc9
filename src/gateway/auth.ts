/**
 * Who calls the gateway, per the gateway spec's security schemes:
 *
 * - `bearerAuth`: a Keycloak access token (verified locally: issuer, audience, expiry, RS/ES/PS
 *   algorithms only) or a widget session token (HS256, the gateway's own; widget-session.ts).
 *   The token header's `typ` picks the verifier, and each verifier refuses the other's tokens.
 * - `apiKeyAuth`: a project API key (`X-Api-Key`). The gateway has no database, so here it only
 *   checks the key's shape; the Control Plane verifies it when the gateway forwards it to
 *   `getInstanceEntitlements` (unknown, revoked or expired keys answer 401 there, keys of
 *   another project or not limited to the instance 404).
 *
 * The credential a caller presented is kept beside its Caller (a WeakMap, never logged) so the
 * services can forward it.
 */
import { createHash } from 'node:crypto';
import { callerFromPrincipal } from '../auth/bearer';
import type { Principal, TokenVerifier } from '../identity';
import { parseApiKey } from '../identity/api-keys';
import { AppError } from '../platform/errors';
import type { SecurityResolver } from '../platform/http/create-service-app';
import type { Caller } from '../platform/http/handler-types';
import type { Credential } from './cp-client';
import { looksLikeWidgetToken, type WidgetSessionClaims, type WidgetSessions } from './widget-session';

const presented = new WeakMap<Caller, Credential>();
const widgetClaims = new WeakMap<Caller, WidgetSessionClaims>();

/** The credential to forward to the Control Plane on the caller's behalf. */
export function credentialOf(caller: Caller): Credential {
  // Widget sessions and the scheduler (a trigger's run) read entitlements with the gateway's own token.
  if (caller.kind === 'widget' || caller.kind === 'service') return { kind: 'service' };
  const c = presented.get(caller);
  if (!c) throw new AppError('UNAUTHENTICATED', 'No credential for this caller');
  return c;
}

export function widgetSessionOf(caller: Caller): WidgetSessionClaims | undefined {
  return widgetClaims.get(caller);
}

/**
 * Remembers verified access tokens (by sha256, never the token) until their `exp`, at most
 * `maxAgeMs` (60 s): a token that verified stays valid until it expires whatever we do, so this
 * only skips repeating the RS256 signature check on every run of a busy client. Bounded LRU.
 */
export function cachingVerifier(verifier: TokenVerifier, opts: { maxEntries?: number; maxAgeMs?: number; now?: () => number } = {}): TokenVerifier {
  const maxEntries = opts.maxEntries ?? 10_000;
  const maxAgeMs = opts.maxAgeMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { principal: Principal; until: number }>();
  return {
    async verify(token) {
      const key = createHash('sha256').update(token).digest('base64url');
      const hit = cache.get(key);
      if (hit && hit.until > now()) return hit.principal;
      if (hit) cache.delete(key);
      const principal = await verifier.verify(token);
      const exp = expOf(token);
      if (exp !== undefined) {
        cache.set(key, { principal, until: Math.min(exp * 1000, now() + maxAgeMs) });
        if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
      }
      return principal;
    },
  };
}

function expOf(token: string): number | undefined {
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

export function gatewayBearerResolver(verifier: TokenVerifier, widgets: WidgetSessions, scheme = 'bearerAuth'): SecurityResolver {
  return async ({ headers }) => {
    const header = headers.authorization;
    if (!header) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new AppError('UNAUTHENTICATED', 'Authorization header must be "Bearer <token>"');
    const token = match[1]!;
    if (looksLikeWidgetToken(token)) {
      const claims = await widgets.verify(token);
      const caller: Caller = {
        kind: 'widget',
        subject: claims.sessionId,
        roles: new Set(['widget-session']),
        orgId: claims.orgId,
        projectId: claims.projectId,
        instanceId: claims.instanceId,
        instanceIds: [claims.instanceId],
        scheme,
      };
      widgetClaims.set(caller, claims);
      return caller;
    }
    const caller = callerFromPrincipal(await verifier.verify(token), scheme);
    presented.set(caller, { kind: 'bearer', token });
    return caller;
  };
}

export function gatewayApiKeyResolver(scheme = 'apiKeyAuth'): SecurityResolver {
  return async ({ headers }) => {
    const key = headers['x-api-key'];
    if (key === undefined) return undefined;
    const parsed = parseApiKey(key.trim());
    if (!parsed) throw new AppError('UNAUTHENTICATED', 'X-Api-Key is not a project API key');
    const caller: Caller = { kind: 'api_key', subject: parsed.keyId, keyId: parsed.keyId, roles: new Set(['project-api-key']), scheme };
    presented.set(caller, { kind: 'apiKey', key: key.trim() });
    return caller;
  };
}

/** The signed-in user's own token (trial operations act for the user); 403 for keys and widgets. */
export function userToken(caller: Caller | undefined): string {
  const c = caller && caller.kind === 'user' ? presented.get(caller) : undefined;
  if (!c || c.kind !== 'bearer') throw new AppError('FORBIDDEN', 'This operation needs a signed-in user');
  return c.token;
}
