/**
 * OpenID Connect authorization-code flow with PKCE (RFC 7636, S256) for the hosted chat, a public
 * client: no secret, the code verifier proves the exchange. Works against Keycloak's endpoints
 * (`{issuer}/protocol/openid-connect/auth|token`) and the development issuer that mirrors them.
 * Tokens live in sessionStorage (this tab) and are dropped when they expire.
 */
export interface OidcConfig {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  redirectUri: string;
  scope: string;
}

export interface Tokens {
  accessToken: string;
  expiresAt: number;
  refreshToken?: string;
  refreshExpiresAt?: number;
  email?: string;
  name?: string;
}

const PENDING = 'agent-store-chat:oidc-pending';
const TOKENS = 'agent-store-chat:tokens';

const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n = 32) => b64url(crypto.getRandomValues(new Uint8Array(n)));

function claimsOf(jwt: string | undefined): Record<string, unknown> {
  if (!jwt) return {};
  try {
    const part = jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Sends the browser to the authorization endpoint. */
export async function signIn(cfg: OidcConfig): Promise<never> {
  const verifier = random(48);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const state = random(16);
  const nonce = random(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce }));
  const url = new URL(cfg.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: cfg.redirectUri,
    scope: cfg.scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
  return new Promise<never>(() => undefined);
}

async function tokenRequest(cfg: OidcConfig, form: Record<string, string>, nonce?: string): Promise<Tokens> {
  const res = await fetch(cfg.tokenEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form, client_id: cfg.clientId }).toString(),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new Error(`Sign-in failed: ${String(body.error_description ?? body.error ?? res.status)}`);
  }
  const id = claimsOf(body.id_token as string | undefined);
  if (nonce !== undefined && id.nonce !== nonce) throw new Error('Sign-in failed: the ID token does not answer this sign-in (nonce)');
  const now = Date.now();
  const access = claimsOf(body.access_token);
  const tokens: Tokens = {
    accessToken: body.access_token,
    expiresAt: now + Number(body.expires_in ?? 60) * 1000,
    ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token, refreshExpiresAt: now + Number(body.refresh_expires_in ?? 1800) * 1000 } : {}),
    email: (id.email ?? access.email) as string | undefined,
    name: (id.name ?? access.name) as string | undefined,
  };
  sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
  return tokens;
}

/** On the redirect back: checks `state`, redeems the code with the verifier, cleans the URL. */
export async function completeSignIn(cfg: OidcConfig): Promise<Tokens | undefined> {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return undefined;
  history.replaceState(null, '', location.pathname);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { verifier: string; state: string; nonce: string } | null;
  sessionStorage.removeItem(PENDING);
  if (params.has('error')) throw new Error(`Sign-in failed: ${params.get('error_description') ?? params.get('error')}`);
  if (!pending || params.get('state') !== pending.state) throw new Error('Sign-in failed: this answer does not belong to a sign-in started here (state)');
  return tokenRequest(cfg, { grant_type: 'authorization_code', code: params.get('code')!, redirect_uri: cfg.redirectUri, code_verifier: pending.verifier }, pending.nonce);
}

/** A valid access token (refreshed when needed), or undefined when the user must sign in. */
export async function currentTokens(cfg: OidcConfig): Promise<Tokens | undefined> {
  const stored = JSON.parse(sessionStorage.getItem(TOKENS) ?? 'null') as Tokens | null;
  if (!stored) return undefined;
  if (stored.expiresAt - Date.now() > 15000) return stored;
  if (stored.refreshToken && (stored.refreshExpiresAt ?? 0) > Date.now()) {
    try {
      return await tokenRequest(cfg, { grant_type: 'refresh_token', refresh_token: stored.refreshToken });
    } catch {
      /* fall through: sign in again */
    }
  }
  signOut();
  return undefined;
}

export function signOut(): void {
  sessionStorage.removeItem(TOKENS);
}
