/**
 * Widget sessions over HTTP: the Origin allow-list, the session token's binding to one instance
 * and one origin, its separation from Keycloak tokens, and widget runs counted as widget runs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SignJWT } from 'jose';
import { activeInstance, buyer, run, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

const SHOP = 'https://shop.example';
let stack: TestStack;
let gw: string;
let owner: Buyer;
let instanceId: string;
let otherInstanceId: string;

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  gw = stack.url('gateway');
  owner = await buyer(stack, 'widget-owner@example.com');
  const web_widget = { allowedOrigins: [SHOP], branding: { title: 'Shop Help', greeting: 'Hello from the shop', logoUrl: 'https://cdn.shop.example/logo.png' }, sessionTtlSeconds: 600 };
  instanceId = await activeInstance(stack, owner, { configOverrides: { web_widget } });
  otherInstanceId = await activeInstance(stack, owner, { configOverrides: { web_widget } });
});
after(async () => stack?.close());

const init = (origin: string, id = instanceId, body: Record<string, unknown> = {}) =>
  http('POST', `${gw}/v1/widget/session:init`, { headers: { origin }, body: { instanceId: id, visitorId: 'vis_test_1', ...body } });

test('a foreign Origin is refused with 403 ORIGIN_NOT_ALLOWED', async () => {
  for (const origin of ['https://evil.example', 'https://shop.example.evil.example', 'http://shop.example', 'https://shop.example:8443']) {
    const r = await init(origin);
    assert.equal(r.status, 403, `${origin}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'ORIGIN_NOT_ALLOWED');
  }
  const unknown = await init(SHOP, 'inst_01M00000000000000000000000');
  assert.equal(unknown.status, 404);
});

test('an allowed Origin gets a session token, branding and limits; the token runs that instance from that origin (counted as a widget run)', async () => {
  const s = await init(SHOP);
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.equal(s.body.tokenType, 'Bearer');
  assert.equal(s.body.instanceId, instanceId);
  assert.match(s.body.sessionId, /^ses_/);
  assert.equal(s.body.branding.title, 'Shop Help');
  assert.equal(s.body.branding.greeting, 'Hello from the shop');
  assert.equal(s.body.branding.logoUrl, 'https://cdn.shop.example/logo.png', 'the widget shows the instance\'s logo');
  assert.match(s.body.branding.primaryColor, /^#[0-9a-fA-F]{6}$/);
  const ttl = (Date.parse(s.body.expiresAt) - Date.now()) / 1000;
  assert.ok(ttl > 590 && ttl <= 600, `expires in ${ttl} s`);
  assert.ok(s.body.limits.maxInputChars > 0 && s.body.limits.rateLimitPerMinute > 0);

  const ok = await run(stack, { token: s.body.sessionToken, origin: SHOP, instanceId });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.usage.dimensions.widget_runs, 1);
  assert.equal(ok.body.sessionId, s.body.sessionId, 'the run continues the widget session');
  const record = await http('GET', `${gw}/v1/runs/${ok.body.runId}`, { token: s.body.sessionToken });
  assert.equal(record.status, 200, 'the session reads its own run');
});

test('a widget session token runs only its instance, only from its origin, and is no user token', async () => {
  const s = (await init(SHOP)).body;
  const other = await run(stack, { token: s.sessionToken, origin: SHOP, instanceId: otherInstanceId });
  assert.equal(other.status, 404, JSON.stringify(other.body));
  const elsewhere = await run(stack, { token: s.sessionToken, origin: 'https://evil.example', instanceId });
  assert.equal(elsewhere.status, 403);
  assert.equal(elsewhere.body.error.code, 'ORIGIN_NOT_ALLOWED');
  const noOrigin = await run(stack, { token: s.sessionToken, instanceId });
  assert.equal(noOrigin.status, 403);
  const otherConversation = await run(stack, { token: s.sessionToken, origin: SHOP, instanceId, body: { sessionId: 'ses_someone_else' } });
  assert.equal(otherConversation.status, 403);

  const asUser = await http('POST', `${gw}/v1/workspaces/auto`, { token: s.sessionToken, body: {} });
  assert.equal(asUser.status, 403, 'trial operations need a signed-in user');
  const atControlPlane = await http('GET', `${stack.url('control-plane')}/instances/${instanceId}`, { token: s.sessionToken });
  assert.equal(atControlPlane.status, 401, 'the control plane (Keycloak verifier) never accepts a widget token');
});

test('forged, expired and Keycloak-typed tokens are refused as widget sessions; a Keycloak token never passes as one', async () => {
  const forged = await new SignJWT({ typ: 'widget-session', inst: instanceId, origin: SHOP, org: owner.orgId, prj: owner.projectId })
    .setProtectedHeader({ alg: 'HS256', typ: 'widget-session+jwt' })
    .setIssuer('urn:agent-store:gateway')
    .setAudience('urn:agent-store:widget-session')
    .setSubject('ses_forged')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode('x'.repeat(48)));
  const r = await run(stack, { token: forged, origin: SHOP, instanceId });
  assert.equal(r.status, 401, JSON.stringify(r.body));

  // A real user token labelled as a widget token is checked as a widget token, and fails.
  const user = owner.token.split('.');
  const header = JSON.parse(Buffer.from(user[0]!, 'base64url').toString());
  const relabelled = [Buffer.from(JSON.stringify({ ...header, typ: 'widget-session+jwt' })).toString('base64url'), user[1], user[2]].join('.');
  assert.equal((await run(stack, { token: relabelled, origin: SHOP, instanceId })).status, 401);
});

test('the widget stops at once when its origin is removed from the allow-list', async () => {
  const s = (await init(SHOP)).body;
  const patched = await http('PATCH', `${stack.url('control-plane')}/instances/${otherInstanceId}`, {
    token: owner.token,
    body: { configOverrides: { web_widget: { allowedOrigins: ['https://new-shop.example'] } } },
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal((await init(SHOP, otherInstanceId)).body.error.code, 'ORIGIN_NOT_ALLOWED');
  assert.equal((await init('https://new-shop.example', otherInstanceId)).status, 200);
  assert.equal((await run(stack, { token: s.sessionToken, origin: SHOP, instanceId })).status, 200, 'the first instance is untouched');
});
