/**
 * The development issuer's browser sign-in: Keycloak's authorization and token endpoints, at
 * Keycloak's paths, for public clients using the authorization-code flow with PKCE (S256). A
 * plain e-mail form stands in for Keycloak's login page (development only: `createDevIssuer`
 * refuses to exist in production, and so does this).
 *
 * Written from Keycloak's sources and docs:
 * - services/src/main/java/org/keycloak/protocol/oidc/endpoints/AuthorizationEndpoint.java and
 *   AuthorizationEndpointChecker.java: `response_type=code`, registered `redirect_uri` (exact, or a
 *   trailing `*` wildcard; an unknown client or redirect is an error page, never a redirect),
 *   `code_challenge_method` required for a PKCE-enforced client ("Missing parameter:
 *   code_challenge_method"), errors redirected as `error`/`error_description`/`state`;
 *   the answer `?state=…&session_state=…&iss=…&code=…` (RFC 9207 `iss`).
 * - services/src/main/java/org/keycloak/protocol/oidc/grants/AuthorizationCodeGrantType.java:
 *   `invalid_grant` "Code not valid" (unknown or reused code), "Code is expired" (60 s, Keycloak's
 *   default code lifespan), "Incorrect redirect_uri", a different client.
 * - services/src/main/java/org/keycloak/protocol/oidc/utils/PkceUtils.java: "PKCE code verifier not
 *   specified", "PKCE verification failed: Invalid code verifier" (43–128 of [A-Za-z0-9-._~]),
 *   "PKCE verification failed: Code mismatch".
 * - The token response (AccessTokenResponse): access_token, expires_in, refresh_expires_in,
 *   refresh_token, token_type "Bearer", id_token, not-before-policy, session_state, scope;
 *   `Cache-Control: no-store`; CORS for the client's web origins (services/cors/Cors.java).
 * - The refresh_token grant (RefreshTokenGrantType): a new token pair; an unknown or expired refresh
 *   token is `invalid_grant` "Invalid refresh token".
 */
import { createHash, randomBytes } from 'node:crypto';
import { devUserSubject, isProductionEnv, type DevIssuer, type DevIssuerResponse } from './dev-issuer';

export interface DevClient {
  clientId: string;
  /** Registered redirect URIs: exact, or ending in `*` (prefix). */
  redirectUris: string[];
  /** Origins whose browsers may call the token endpoint (CORS). */
  webOrigins: string[];
}

export interface DevLoginOptions {
  /** The API's audience (`aud` of access tokens), e.g. `agent-store`. */
  audience: string;
  /** Registered public clients (read per request: a test stack knows its ports late). */
  clients: () => DevClient[];
  appEnv?: string;
  now?: () => number;
}

export interface DevLoginRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** application/x-www-form-urlencoded body of a POST. */
  form?: URLSearchParams;
  origin?: string;
}

interface AuthRequest {
  clientId: string;
  redirectUri: string;
  state?: string;
  nonce?: string;
  scope: string;
  codeChallenge: string;
  codeChallengeMethod: 'S256';
  expiresAt: number;
}
interface Grant { clientId: string; redirectUri: string; codeChallenge: string; nonce?: string; scope: string; email: string; name?: string; sessionState: string; expiresAt: number }
interface RefreshGrant { clientId: string; scope: string; email: string; name?: string; sessionState: string; expiresAt: number }

const CODE_TTL_MS = 60_000;
const LOGIN_TTL_MS = 10 * 60_000;
const ACCESS_TTL_S = 300;
const REFRESH_TTL_S = 1800;
const MAX_ENTRIES = 10_000;
const VERIFIER = /^[0-9a-zA-Z\-._~]{43,128}$/;
const EMAIL = /^[^\s@<>"']{1,64}@[^\s@<>"']{1,190}$/;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const token = () => randomBytes(32).toString('base64url');

function put<T extends { expiresAt: number }>(map: Map<string, T>, key: string, value: T, now: number) {
  if (map.size >= MAX_ENTRIES) for (const [k, v] of map) if (v.expiresAt <= now || map.size >= MAX_ENTRIES) map.delete(k);
  map.set(key, value);
}

function redirectMatches(uri: string, registered: string[]): boolean {
  return registered.some((r) => (r.endsWith('*') ? uri.startsWith(r.slice(0, -1)) : uri === r));
}

export function createDevLoginHandler(issuer: Pick<DevIssuer, 'issuer' | 'mint' | 'mintIdToken'>, opts: DevLoginOptions): (req: DevLoginRequest) => Promise<DevIssuerResponse | undefined> {
  if (isProductionEnv(opts.appEnv ?? process.env.APP_ENV)) throw new Error('The development sign-in is disabled in production; use Keycloak.');
  const now = opts.now ?? Date.now;
  const base = new URL(issuer.issuer).pathname.replace(/\/+$/, '');
  const authPath = `${base}/protocol/openid-connect/auth`;
  const tokenPath = `${base}/protocol/openid-connect/token`;
  const loginPath = `${base}/login-actions/authenticate`;
  const logins = new Map<string, AuthRequest>();
  const codes = new Map<string, Grant>();
  const refreshTokens = new Map<string, RefreshGrant>();
  const client = (id: string | null) => opts.clients().find((c) => c.clientId === id);

  const html = (status: number, body: string, formAction?: string): DevIssuerResponse => ({
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${formAction ? ` ${formAction}` : ''}; frame-ancestors 'none'; base-uri 'none'`,
      'x-frame-options': 'DENY',
    },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in — development</title>
<style>body{font:16px/1.5 system-ui,sans-serif;background:#f3f4f6;margin:0;display:grid;place-items:center;min-height:100vh}main{background:#fff;padding:28px 32px;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.08);max-width:420px;width:calc(100% - 32px)}label{display:block;margin:14px 0 4px;font-weight:600}input{width:100%;box-sizing:border-box;font:inherit;padding:10px;border:1px solid #d1d5db;border-radius:8px}button{margin-top:18px;width:100%;font:inherit;font-weight:600;padding:10px;border:0;border-radius:8px;background:#2563eb;color:#fff;cursor:pointer}.dev{background:#fef3c7;color:#78350f;padding:8px 12px;border-radius:8px;font-size:14px}.err{color:#b91c1c}</style>
</head><body><main>${body}</main></body></html>`,
  });
  const errorPage = (message: string) => html(400, `<h1>We are sorry…</h1><p class="err">${escapeHtml(message)}</p>`);
  const redirect = (to: string, params: Record<string, string | undefined>): DevIssuerResponse => {
    const url = new URL(to);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    return { status: 302, headers: { location: url.toString(), 'cache-control': 'no-store' }, body: '' };
  };
  const json = (status: number, body: Record<string, unknown>, origin: string | undefined, c: DevClient | undefined): DevIssuerResponse => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache', vary: 'Origin' };
    if (origin && c?.webOrigins.includes(origin)) headers['access-control-allow-origin'] = origin;
    return { status, headers, body };
  };

  function loginForm(tabId: string, a: AuthRequest, error?: string): DevIssuerResponse {
    return html(error ? 400 : 200, `<p class="dev">Development sign-in: no password, any e-mail. The platform refuses this issuer in production; there Keycloak signs you in.</p>
<h1>Sign in</h1><p>to <strong>${escapeHtml(a.clientId)}</strong></p>${error ? `<p class="err" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(loginPath)}"><input type="hidden" name="tab_id" value="${escapeHtml(tabId)}">
<label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="email" required autofocus>
<label for="name">Name (optional)</label><input id="name" name="name" autocomplete="name" maxlength="120">
<button type="submit">Sign in</button></form>`, new URL(a.redirectUri).origin);
  }

  function authorize(q: URLSearchParams): DevIssuerResponse {
    const c = client(q.get('client_id'));
    if (!c) return errorPage('Client not found.');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!redirectMatches(redirectUri, c.redirectUris)) return errorPage('Invalid parameter: redirect_uri');
    const state = q.get('state') ?? undefined;
    const fail = (error: string, description: string) => redirect(redirectUri, { error, error_description: description, state, iss: issuer.issuer });
    if (q.get('response_type') !== 'code') return fail('unsupported_response_type', 'Client is not allowed to initiate browser login with given response_type. Standard flow is disabled for the client.');
    const method = q.get('code_challenge_method');
    if (!method) return fail('invalid_request', 'Missing parameter: code_challenge_method');
    if (method !== 'S256') return fail('invalid_request', 'Invalid parameter: code_challenge_method');
    const challenge = q.get('code_challenge') ?? '';
    if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(challenge)) return fail('invalid_request', 'Invalid parameter: code_challenge');
    const a: AuthRequest = { clientId: c.clientId, redirectUri, state, nonce: q.get('nonce') ?? undefined, scope: q.get('scope') ?? 'openid', codeChallenge: challenge, codeChallengeMethod: 'S256', expiresAt: now() + LOGIN_TTL_MS };
    const tabId = token();
    put(logins, tabId, a, now());
    return loginForm(tabId, a);
  }

  function authenticate(form: URLSearchParams): DevIssuerResponse {
    const tabId = form.get('tab_id') ?? '';
    const a = logins.get(tabId);
    if (!a || a.expiresAt <= now()) return errorPage('Your login attempt timed out. Login will start from the beginning.');
    const email = (form.get('email') ?? '').trim().toLowerCase();
    if (!EMAIL.test(email)) return loginForm(tabId, a, 'Enter an e-mail address.');
    logins.delete(tabId);
    const name = (form.get('name') ?? '').trim().slice(0, 120) || undefined;
    const code = token();
    const sessionState = token().slice(0, 22);
    put(codes, code, { clientId: a.clientId, redirectUri: a.redirectUri, codeChallenge: a.codeChallenge, nonce: a.nonce, scope: a.scope, email, name, sessionState, expiresAt: now() + CODE_TTL_MS }, now());
    return redirect(a.redirectUri, { state: a.state, session_state: sessionState, iss: issuer.issuer, code });
  }

  async function tokens(c: DevClient, g: { email: string; name?: string; scope: string; sessionState: string; nonce?: string }) {
    const subject = devUserSubject(g.email);
    const accessToken = await issuer.mint({ kind: 'user', subject, email: g.email, name: g.name, audience: opts.audience, clientId: c.clientId, scope: g.scope, ttlSeconds: ACCESS_TTL_S });
    const idToken = await issuer.mintIdToken({ subject, clientId: c.clientId, email: g.email, name: g.name, nonce: g.nonce, sessionState: g.sessionState, ttlSeconds: ACCESS_TTL_S });
    const refresh = token();
    put(refreshTokens, refresh, { clientId: c.clientId, scope: g.scope, email: g.email, name: g.name, sessionState: g.sessionState, expiresAt: now() + REFRESH_TTL_S * 1000 }, now());
    return {
      access_token: accessToken,
      expires_in: ACCESS_TTL_S,
      refresh_expires_in: REFRESH_TTL_S,
      refresh_token: refresh,
      token_type: 'Bearer',
      id_token: idToken,
      'not-before-policy': 0,
      session_state: g.sessionState,
      scope: g.scope,
    };
  }

  async function tokenEndpoint(form: URLSearchParams, origin: string | undefined): Promise<DevIssuerResponse> {
    const c = client(form.get('client_id'));
    if (!c) return json(401, { error: 'invalid_client', error_description: 'Invalid client or Invalid client credentials' }, origin, undefined);
    const bad = (description: string, error = 'invalid_grant') => json(400, { error, error_description: description }, origin, c);
    const grantType = form.get('grant_type');
    if (grantType === 'authorization_code') {
      const code = form.get('code');
      if (!code) return bad('Missing parameter: code', 'invalid_request');
      const g = codes.get(code);
      codes.delete(code); // one use, whatever happens next
      if (!g) return bad('Code not valid');
      if (g.expiresAt <= now()) return bad('Code is expired');
      if (form.get('redirect_uri') !== g.redirectUri) return bad('Incorrect redirect_uri');
      if (g.clientId !== c.clientId) return bad('Auth error: Found different client_id in clientSession');
      const verifier = form.get('code_verifier');
      if (verifier === null) return bad('PKCE code verifier not specified');
      if (!VERIFIER.test(verifier)) return bad('PKCE verification failed: Invalid code verifier');
      if (createHash('sha256').update(verifier, 'latin1').digest('base64url') !== g.codeChallenge) return bad('PKCE verification failed: Code mismatch');
      return json(200, await tokens(c, g), origin, c);
    }
    if (grantType === 'refresh_token') {
      const r = refreshTokens.get(form.get('refresh_token') ?? '');
      if (!r || r.expiresAt <= now() || r.clientId !== c.clientId) return bad('Invalid refresh token');
      refreshTokens.delete(form.get('refresh_token')!); // rotated, as with Keycloak's "revoke refresh token"
      return json(200, await tokens(c, r), origin, c);
    }
    return bad('Unsupported grant_type', 'unsupported_grant_type');
  }

  return async (req) => {
    if (req.path === authPath && req.method === 'GET') return authorize(req.query);
    if (req.path === loginPath && req.method === 'POST') return authenticate(req.form ?? new URLSearchParams());
    if (req.path === tokenPath && req.method === 'POST') return tokenEndpoint(req.form ?? new URLSearchParams(), req.origin);
    if (req.path === tokenPath && req.method === 'OPTIONS') {
      // Keycloak answers the token endpoint's preflight for the client's web origins.
      const allowed = req.origin && opts.clients().some((c) => c.webOrigins.includes(req.origin!));
      return { status: 200, headers: allowed ? { 'access-control-allow-origin': req.origin!, 'access-control-allow-methods': 'POST, OPTIONS', 'access-control-allow-headers': 'Content-Type', 'access-control-max-age': '3600', vary: 'Origin' } : { vary: 'Origin' }, body: '' };
    }
    return undefined;
  };
}
