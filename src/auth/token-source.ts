/**
 * Where a platform service's own token (Provisioner → Control Plane, Gateway → Control Plane and
 * Runner) comes from.
 *
 * - development/test: minted by the embedded dev issuer as the service's account
 *   (`service-account-<name>`, role `svc:<name>`), exactly what Keycloak would issue;
 * - production: Keycloak's client-credentials grant at `{OIDC_ISSUER}/protocol/openid-connect/token`
 *   (client id/secret in the Basic header, as Keycloak's default client authenticator expects).
 * Both cache the token until shortly before it expires; `invalidate()` drops it (after a 401).
 * The client secret and the tokens are never logged.
 */
import type { DevIssuer, ServiceName } from '../identity';
import { SERVICE_ROLES } from '../identity';

export interface TokenSource {
  token(): Promise<string>;
  /** Forget the cached token (the Control Plane refused it). */
  invalidate(): void;
}

/** Refresh this long before `exp`, so a token never expires in flight. */
const EARLY_REFRESH_MS = 30_000;

function cached(fetchToken: () => Promise<{ token: string; expiresInSeconds: number }>, now: () => number): TokenSource {
  let current: { token: string; refreshAt: number } | undefined;
  let inflight: Promise<string> | undefined;
  return {
    async token() {
      if (current && now() < current.refreshAt) return current.token;
      inflight ??= (async () => {
        try {
          const t = await fetchToken();
          const lifetime = Math.max(0, t.expiresInSeconds * 1000 - EARLY_REFRESH_MS);
          current = { token: t.token, refreshAt: now() + lifetime };
          return t.token;
        } finally {
          inflight = undefined;
        }
      })();
      return inflight;
    },
    invalidate() {
      current = undefined;
    },
  };
}

/** The dev issuer's token for `service` (client id = the service name, role `svc:<service>`). */
export function devIssuerTokenSource(issuer: DevIssuer, opts: { service: ServiceName; audience: string; now?: () => number; ttlSeconds?: number }): TokenSource {
  const ttlSeconds = opts.ttlSeconds ?? 300;
  return cached(async () => ({
    token: await issuer.mint({
      kind: 'service',
      subject: `service-account-${opts.service}`,
      clientId: opts.service,
      roles: [SERVICE_ROLES[opts.service]],
      audience: opts.audience,
      ttlSeconds,
    }),
    expiresInSeconds: ttlSeconds,
  }), opts.now ?? Date.now);
}

export class TokenEndpointError extends Error {
  constructor(message: string, readonly httpStatus: number | null) {
    super(message);
    this.name = 'TokenEndpointError';
  }
}

/** Keycloak client-credentials grant; `tokenUrl` defaults to the realm's token endpoint. */
export function clientCredentialsTokenSource(opts: {
  issuer: string;
  clientId: string;
  clientSecret: string;
  tokenUrl?: string;
  fetch?: typeof fetch;
  now?: () => number;
  timeoutMs?: number;
}): TokenSource {
  const url = opts.tokenUrl ?? `${opts.issuer.replace(/\/+$/, '')}/protocol/openid-connect/token`;
  const doFetch = opts.fetch ?? fetch;
  const basic = Buffer.from(`${encodeURIComponent(opts.clientId)}:${encodeURIComponent(opts.clientSecret)}`).toString('base64');
  return cached(async () => {
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
      });
    } catch (err) {
      throw new TokenEndpointError(`token endpoint unreachable: ${(err as Error).message}`, null);
    }
    const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; error?: unknown };
    if (!res.ok || typeof body.access_token !== 'string') {
      // Keycloak's error body names the problem (invalid_client, …) and carries no secret.
      throw new TokenEndpointError(`token endpoint answered ${res.status}${typeof body.error === 'string' ? ` ${body.error}` : ''}`, res.status);
    }
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    return { token: body.access_token, expiresInSeconds: expiresIn };
  }, opts.now ?? Date.now);
}
