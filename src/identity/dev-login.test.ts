/**
 * The development issuer's authorization-code + PKCE sign-in, against the rules of Keycloak's
 * endpoints: registered redirects only, S256 required, one-use short-lived codes bound to the
 * client, redirect and verifier; tokens the production verifier accepts; refused in production.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { decodeJwt } from 'jose';
import { createDevIssuer, devUserSubject, type DevIssuer } from './dev-issuer';
import { createDevLoginHandler, type DevLoginRequest } from './dev-login';
import { createTokenVerifier } from './token-verifier';

const BASE = '/dev-oidc/realms/agent-store';
const AUTH = `${BASE}/protocol/openid-connect/auth`;
const TOKEN = `${BASE}/protocol/openid-connect/token`;
const LOGIN = `${BASE}/login-actions/authenticate`;
const GW = 'http://127.0.0.1:8081';
const REDIRECT = `${GW}/chat/inst_01TESTTEST01`;

let dataDir: string;
let issuer: DevIssuer;
let clock = 1_800_000_000_000;
let handle: ReturnType<typeof createDevLoginHandler>;

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'dev-login-'));
  issuer = await createDevIssuer({ dataDir, appEnv: 'development' });
  handle = createDevLoginHandler(issuer, {
    audience: 'agent-store',
    appEnv: 'development',
    clients: () => [{ clientId: 'agent-store-chat', redirectUris: [`${GW}/chat/*`], webOrigins: [GW] }],
    now: () => clock,
  });
});
after(() => rm(dataDir, { recursive: true, force: true }));

const pkce = () => {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

const req = (r: Partial<DevLoginRequest> & { path: string }): Promise<any> => handle({ method: 'GET', query: new URLSearchParams(), ...r });

async function authorize(params: Record<string, string>) {
  return req({ path: AUTH, query: new URLSearchParams(params) });
}

/** Runs the browser part: authorization request, login form, redirect back; answers the code. */
async function code(opts: { challenge: string; redirect?: string; nonce?: string; email?: string }) {
  const page = await authorize({ response_type: 'code', client_id: 'agent-store-chat', redirect_uri: opts.redirect ?? REDIRECT, scope: 'openid profile email', state: 'st-1', nonce: opts.nonce ?? 'n-1', code_challenge: opts.challenge, code_challenge_method: 'S256' });
  assert.equal(page.status, 200, page.body);
  const tabId = /name="tab_id" value="([^"]+)"/.exec(page.body)![1]!;
  const back = await req({ method: 'POST', path: LOGIN, form: new URLSearchParams({ tab_id: tabId, email: opts.email ?? 'Ada@Example.com', name: 'Ada' }) });
  assert.equal(back.status, 302);
  const location = new URL(back.headers.location);
  assert.equal(`${location.origin}${location.pathname}`, opts.redirect ?? REDIRECT);
  assert.equal(location.searchParams.get('state'), 'st-1');
  assert.equal(location.searchParams.get('iss'), issuer.issuer);
  return location.searchParams.get('code')!;
}

const exchange = (form: Record<string, string>, origin?: string) => req({ method: 'POST', path: TOKEN, form: new URLSearchParams(form), origin });

test('code + PKCE: the token endpoint answers Keycloak-shaped tokens the production verifier accepts, readable from the web origin', async () => {
  const { verifier, challenge } = pkce();
  const c = await code({ challenge });
  const r = await exchange({ grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT, client_id: 'agent-store-chat', code_verifier: verifier }, GW);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (const f of ['access_token', 'expires_in', 'refresh_expires_in', 'refresh_token', 'token_type', 'id_token', 'not-before-policy', 'session_state', 'scope']) assert.ok(f in r.body, f);
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers['access-control-allow-origin'], GW);
  const principal = await createTokenVerifier({ issuer: issuer.issuer, audience: 'agent-store', jwks: issuer.jwks(), now: () => new Date(Date.now()) }).verify(r.body.access_token);
  assert.equal(principal.subject, devUserSubject('ada@example.com'), 'the same user as `npm run token -- --user ada@example.com`');
  assert.equal(principal.email, 'ada@example.com');
  const id = decodeJwt(r.body.id_token);
  assert.equal(id.aud, 'agent-store-chat');
  assert.equal(id.nonce, 'n-1');
  assert.equal(decodeJwt(r.body.access_token).azp, 'agent-store-chat');
});

test('a code is used once: a replay is "Code not valid"', async () => {
  const { verifier, challenge } = pkce();
  const c = await code({ challenge });
  const form = { grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT, client_id: 'agent-store-chat', code_verifier: verifier };
  assert.equal((await exchange(form)).status, 200);
  const again = await exchange(form);
  assert.equal(again.status, 400);
  assert.deepEqual(again.body, { error: 'invalid_grant', error_description: 'Code not valid' });
});

test('a wrong, missing or malformed verifier is refused, and the code is spent by the attempt', async () => {
  const { verifier, challenge } = pkce();
  for (const [form, description] of [
    [{ code_verifier: pkce().verifier }, 'PKCE verification failed: Code mismatch'],
    [{}, 'PKCE code verifier not specified'],
    [{ code_verifier: 'short' }, 'PKCE verification failed: Invalid code verifier'],
    [{ code_verifier: challenge }, 'PKCE verification failed: Code mismatch'],
  ] as const) {
    const c = await code({ challenge });
    const r = await exchange({ grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT, client_id: 'agent-store-chat', ...form });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { error: 'invalid_grant', error_description: description });
    const retry = await exchange({ grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT, client_id: 'agent-store-chat', code_verifier: verifier });
    assert.equal(retry.body.error_description, 'Code not valid', 'an intercepted code cannot be tried again with the right verifier');
  }
});

test('the code is bound to its redirect_uri and client, and expires after 60 s', async () => {
  const { verifier, challenge } = pkce();
  const wrongRedirect = await exchange({ grant_type: 'authorization_code', code: await code({ challenge }), redirect_uri: `${GW}/chat/inst_01OTHEROTHER`, client_id: 'agent-store-chat', code_verifier: verifier });
  assert.deepEqual(wrongRedirect.body, { error: 'invalid_grant', error_description: 'Incorrect redirect_uri' });
  const unknownClient = await exchange({ grant_type: 'authorization_code', code: await code({ challenge }), redirect_uri: REDIRECT, client_id: 'someone-else', code_verifier: verifier });
  assert.equal(unknownClient.status, 401);
  assert.equal(unknownClient.body.error, 'invalid_client');
  const c = await code({ challenge });
  clock += 61_000;
  const late = await exchange({ grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT, client_id: 'agent-store-chat', code_verifier: verifier });
  assert.deepEqual(late.body, { error: 'invalid_grant', error_description: 'Code is expired' });
});

test('the authorization endpoint: unregistered redirect or client is an error page (never a redirect); PKCE S256 is required', async () => {
  const { challenge } = pkce();
  const base = { response_type: 'code', client_id: 'agent-store-chat', redirect_uri: REDIRECT, state: 's', code_challenge: challenge, code_challenge_method: 'S256' };
  const evil = await authorize({ ...base, redirect_uri: 'https://evil.example/chat/x' });
  assert.equal(evil.status, 400);
  assert.match(evil.body, /Invalid parameter: redirect_uri/);
  assert.equal(evil.headers.location, undefined);
  const lookalike = await authorize({ ...base, redirect_uri: `${GW}.evil.example/chat/x` });
  assert.equal(lookalike.status, 400);
  const noClient = await authorize({ ...base, client_id: 'nope' });
  assert.match(noClient.body, /Client not found/);
  for (const [params, error] of [
    [{ code_challenge_method: '' }, 'Missing parameter: code_challenge_method'],
    [{ code_challenge_method: 'plain' }, 'Invalid parameter: code_challenge_method'],
    [{ response_type: 'token' }, undefined],
  ] as const) {
    const q: Record<string, string> = { ...base, ...params };
    if (!q.code_challenge_method) delete q.code_challenge_method;
    const r = await authorize(q);
    assert.equal(r.status, 302);
    const to = new URL(r.headers.location);
    assert.equal(to.searchParams.get('state'), 's');
    if (error) assert.equal(to.searchParams.get('error_description'), error);
    else assert.equal(to.searchParams.get('error'), 'unsupported_response_type');
  }
});

test('the login form refuses a stale or forged tab, and an empty e-mail', async () => {
  const forged = await req({ method: 'POST', path: LOGIN, form: new URLSearchParams({ tab_id: 'forged', email: 'a@b.example' }) });
  assert.equal(forged.status, 400);
  assert.match(forged.body, /timed out/);
  const { challenge } = pkce();
  const page = await authorize({ response_type: 'code', client_id: 'agent-store-chat', redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256' });
  const tabId = /name="tab_id" value="([^"]+)"/.exec(page.body)![1]!;
  const empty = await req({ method: 'POST', path: LOGIN, form: new URLSearchParams({ tab_id: tabId, email: '' }) });
  assert.equal(empty.status, 400);
  assert.match(empty.body, /Enter an e-mail address/);
  assert.match(empty.headers['content-security-policy'], /form-action 'self' http:\/\/127\.0\.0\.1:8081/);
});

test('a refresh token is exchanged once for a new pair', async () => {
  const { verifier, challenge } = pkce();
  const first = await exchange({ grant_type: 'authorization_code', code: await code({ challenge }), redirect_uri: REDIRECT, client_id: 'agent-store-chat', code_verifier: verifier });
  const refreshed = await exchange({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: 'agent-store-chat' });
  assert.equal(refreshed.status, 200);
  assert.notEqual(refreshed.body.refresh_token, first.body.refresh_token);
  const replay = await exchange({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: 'agent-store-chat' });
  assert.deepEqual(replay.body, { error: 'invalid_grant', error_description: 'Invalid refresh token' });
  const unsupported = await exchange({ grant_type: 'password', client_id: 'agent-store-chat', username: 'a', password: 'b' });
  assert.equal(unsupported.body.error, 'unsupported_grant_type');
});

test('the development sign-in refuses to exist in production', () => {
  assert.throws(() => createDevLoginHandler(issuer, { audience: 'agent-store', appEnv: 'production', clients: () => [] }), /disabled in production/);
});
