/**
 * Widget session tokens and Keycloak access tokens never pass for each other: the OIDC verifier
 * refuses HS256 widget tokens, the widget verifier refuses RS256 user tokens, foreign secrets,
 * expired sessions and tampered claims; the dev secret is created once and reused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDevIssuer, createTokenVerifier } from '../identity';
import { loadConfig } from '../platform/config';
import { createWidgetSessions, loadWidgetSecret, looksLikeWidgetToken } from './widget-session';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const secret = new TextEncoder().encode('s'.repeat(40));
const session = { instanceId: 'inst_01TESTTESTTEST', origin: 'https://shop.example', orgId: 'org_1', projectId: 'prj_1', visitorId: 'vis_1' };

test('a session token round-trips with its instance, origin and session id', async () => {
  const widgets = createWidgetSessions(secret);
  const { token, claims } = await widgets.issue(session, 600);
  assert.ok(looksLikeWidgetToken(token));
  const back = await widgets.verify(token);
  assert.equal(back.sessionId, claims.sessionId);
  assert.match(back.sessionId, /^ses_/);
  assert.equal(back.instanceId, session.instanceId);
  assert.equal(back.origin, session.origin);
  assert.equal(back.visitorId, 'vis_1');
});

test('the Keycloak verifier refuses widget tokens, and the widget verifier refuses Keycloak tokens', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'widget-')); dirs.push(dataDir);
  const issuer = await createDevIssuer({ dataDir, appEnv: 'test' });
  const oidc = createTokenVerifier({ issuer: issuer.issuer, audience: 'agent-store', jwks: issuer.jwks() });
  const widgets = createWidgetSessions(secret);
  const { token: widgetToken } = await widgets.issue(session, 600);
  await assert.rejects(oidc.verify(widgetToken), /algorithm not allowed|UNAUTHENTICATED/i);
  const userToken = await issuer.mint({ kind: 'user', subject: 'u1', email: 'u@example.com', audience: 'agent-store' });
  assert.equal(looksLikeWidgetToken(userToken), false);
  await assert.rejects(widgets.verify(userToken), (e: any) => e.code === 'UNAUTHENTICATED');
});

test('foreign secrets, expired sessions and edited claims are refused', async () => {
  let now = Date.now();
  const widgets = createWidgetSessions(secret, { now: () => now });
  const { token } = await widgets.issue(session, 60);
  await assert.rejects(createWidgetSessions(new TextEncoder().encode('o'.repeat(40))).verify(token), (e: any) => e.code === 'UNAUTHENTICATED');
  const [h, p, s] = token.split('.');
  const edited = JSON.parse(Buffer.from(p!, 'base64url').toString());
  edited.inst = 'inst_someone_else';
  await assert.rejects(widgets.verify([h, Buffer.from(JSON.stringify(edited)).toString('base64url'), s].join('.')), (e: any) => e.code === 'UNAUTHENTICATED');
  now += 61_000;
  await assert.rejects(widgets.verify(token), (e: any) => e.code === 'UNAUTHENTICATED' && /expired/.test(e.message));
  assert.throws(() => createWidgetSessions(new Uint8Array(16)), /32 bytes/);
});

test('outside production the secret is generated once into DATA_DIR (mode 0600) and reused; production requires WIDGET_SESSION_SECRET', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'widget-')); dirs.push(dataDir);
  const config = loadConfig({ APP_ENV: 'test', DATA_DIR: dataDir });
  const a = await loadWidgetSecret(config);
  const b = await loadWidgetSecret(config);
  assert.deepEqual(a, b);
  assert.ok(a.byteLength >= 32);
  assert.equal(statSync(join(dataDir, 'gateway', 'widget-session.key')).mode & 0o777, 0o600);
  const given = await loadWidgetSecret(loadConfig({ APP_ENV: 'test', DATA_DIR: dataDir, WIDGET_SESSION_SECRET: 'w'.repeat(32) }));
  assert.equal(new TextDecoder().decode(given), 'w'.repeat(32));
  assert.throws(() => loadConfig({ APP_ENV: 'test', WIDGET_SESSION_SECRET: 'short' }), /WIDGET_SESSION_SECRET/);
  const prod = { ...loadConfig({ APP_ENV: 'test', DATA_DIR: dataDir }), env: 'production' as const };
  await assert.rejects(loadWidgetSecret(prod), /WIDGET_SESSION_SECRET/);
});
