/**
 * CORS on the running gateway and control plane, as a browser would meet it: preflights, the
 * instance's allow-list for widget calls, configured origins for signed-in apps, anonymous
 * catalog reads, readable refusals, no credentials, Vary: Origin, exposed headers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

const SHOP = 'https://shop.example';
const CONSOLE = 'https://console.example';
const EVIL = 'https://evil.example';
let stack: TestStack;
let gw: string;
let cp: string;
let owner: Buyer;
let instanceId: string;

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', CORS_ALLOWED_ORIGINS: CONSOLE });
  gw = stack.url('gateway');
  cp = stack.url('control-plane');
  owner = await buyer(stack, 'cors-owner@example.com');
  instanceId = await activeInstance(stack, owner, { configOverrides: { web_widget: { allowedOrigins: [SHOP, 'https://*.shop.example'], rateLimitPerMinute: 2 } } });
});
after(async () => stack?.close());

const preflight = (url: string, origin: string, method: string, requestHeaders = 'content-type') =>
  fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': requestHeaders } });

const list = (h: string | null) => (h ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

test('a widget preflight is answered for any web origin (it cannot name the instance), without credentials', async () => {
  for (const origin of [SHOP, EVIL]) {
    const r = await preflight(`${gw}/v1/widget/session:init`, origin, 'POST');
    assert.equal(r.status, 204, origin);
    assert.equal(r.headers.get('access-control-allow-origin'), origin);
    assert.deepEqual(list(r.headers.get('access-control-allow-methods')), ['post']);
    assert.ok(list(r.headers.get('access-control-allow-headers')).includes('content-type'));
    assert.ok(list(r.headers.get('access-control-allow-headers')).includes('x-request-id'));
    assert.equal(r.headers.get('access-control-allow-credentials'), null, 'never credentials');
    assert.ok(Number(r.headers.get('access-control-max-age')) > 0);
    assert.ok(list(r.headers.get('vary')).includes('origin'));
  }
  const runs = await preflight(`${gw}/v1/runs`, SHOP, 'POST', 'authorization,content-type,idempotency-key');
  assert.equal(runs.status, 204);
  const allowed = list(runs.headers.get('access-control-allow-headers'));
  for (const h of ['authorization', 'content-type', 'idempotency-key']) assert.ok(allowed.includes(h), h);
  assert.ok(!allowed.includes('x-api-key'), 'project API keys are never sent from browsers');
});

test('an allowed origin reads the widget session and the run; the exposed headers include Retry-After, X-Request-Id and the overhead', async () => {
  for (const origin of [SHOP, 'https://help.shop.example']) {
    const init = await http('POST', `${gw}/v1/widget/session:init`, { headers: { origin }, body: { instanceId, visitorId: `vis_${origin.length}` } });
    assert.equal(init.status, 200, JSON.stringify(init.body));
    assert.equal(init.headers.get('access-control-allow-origin'), origin);
    assert.equal(init.headers.get('access-control-allow-credentials'), null);
    const exposed = list(init.headers.get('access-control-expose-headers'));
    for (const h of ['retry-after', 'x-request-id', 'x-gateway-overhead-ms', 'server-timing']) assert.ok(exposed.includes(h), h);
    assert.ok(list(init.headers.get('vary')).includes('origin'));

    const run = await http('POST', `${gw}/v1/runs`, { token: init.body.sessionToken, headers: { origin }, body: { instanceId, input: { text: 'hello' } } });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.headers.get('access-control-allow-origin'), origin);
    assert.ok(list(run.headers.get('access-control-expose-headers')).includes('x-ratelimit-remaining'));
  }
});

test('a foreign origin reads only the refusal (403 ORIGIN_NOT_ALLOWED) and gets no session', async () => {
  const r = await http('POST', `${gw}/v1/widget/session:init`, { headers: { origin: EVIL }, body: { instanceId } });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'ORIGIN_NOT_ALLOWED');
  assert.equal(r.headers.get('access-control-allow-origin'), EVIL, 'readable, so the widget can tell the visitor');
  assert.equal(r.body.sessionToken, undefined);
  const apex = await http('POST', `${gw}/v1/widget/session:init`, { headers: { origin: 'https://evilshop.example' }, body: { instanceId } });
  assert.equal(apex.body.error.code, 'ORIGIN_NOT_ALLOWED');
});

test('a widget token used from another origin is refused, and that origin reads nothing else', async () => {
  const s = (await http('POST', `${gw}/v1/widget/session:init`, { headers: { origin: SHOP }, body: { instanceId, visitorId: 'vis_replay' } })).body;
  const stolen = await http('POST', `${gw}/v1/runs`, { token: s.sessionToken, headers: { origin: EVIL }, body: { instanceId, input: { text: 'hi' } } });
  assert.equal(stolen.status, 403);
  assert.equal(stolen.body.error.code, 'ORIGIN_NOT_ALLOWED');
  const record = await http('GET', `${gw}/v1/runs/run_0000000000000000`, { token: s.sessionToken, headers: { origin: EVIL } });
  assert.equal(record.status, 404);
  assert.equal(record.headers.get('access-control-allow-origin'), null, 'another origin never reads a widget session\'s answers');
});

test('a rate-limited widget call is readable with its Retry-After', async () => {
  let limited;
  for (let i = 0; i < 15 && !limited; i++) {
    const r = await http('POST', `${gw}/v1/widget/session:init`, { headers: { origin: SHOP }, body: { instanceId, visitorId: 'vis_burst' } });
    if (r.status === 429) limited = r;
  }
  assert.ok(limited, 'the per-origin and visitor limit answers 429');
  assert.equal(limited.headers.get('access-control-allow-origin'), SHOP);
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.ok(list(limited.headers.get('access-control-expose-headers')).includes('retry-after'));
});

test('signed-in operations answer CORS to configured origins and the gateway\'s own, and refuse other preflights', async () => {
  for (const origin of [CONSOLE, new URL(gw).origin]) {
    const r = await preflight(`${gw}/v1/workspaces/auto`, origin, 'POST', 'authorization,content-type');
    assert.equal(r.status, 204, origin);
    assert.equal(r.headers.get('access-control-allow-origin'), origin);
    const ws = await http('POST', `${gw}/v1/workspaces/auto`, { token: owner.token, headers: { origin }, body: {} });
    assert.equal(ws.status, 200);
    assert.equal(ws.headers.get('access-control-allow-origin'), origin);
  }
  const refused = await preflight(`${gw}/v1/workspaces/auto`, EVIL, 'POST', 'authorization,content-type');
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get('access-control-allow-origin'), null);
  assert.equal((await refused.json()).error.code, 'ORIGIN_NOT_ALLOWED');
  const userRunFromShop = await http('POST', `${gw}/v1/runs`, { token: owner.token, headers: { origin: SHOP }, body: { instanceId, input: { text: 'hi' } } });
  assert.equal(userRunFromShop.headers.get('access-control-allow-origin'), null, 'a widget origin is no console: user answers stay unreadable there');

  const wallet = await http('GET', `${cp}/wallets/${owner.walletId}`, { token: owner.token, headers: { origin: new URL(gw).origin } });
  assert.equal(wallet.headers.get('access-control-allow-origin'), new URL(gw).origin, 'the hosted chat reads the wallet');
  const walletElsewhere = await http('GET', `${cp}/wallets/${owner.walletId}`, { token: owner.token, headers: { origin: EVIL } });
  assert.equal(walletElsewhere.headers.get('access-control-allow-origin'), null);
});

test('anonymous catalog reads are public (*, never with credentials); internal operations answer no CORS', async () => {
  const offerings = await http('GET', `${cp}/offerings?limit=1`, { headers: { origin: EVIL } });
  assert.equal(offerings.status, 200);
  assert.equal(offerings.headers.get('access-control-allow-origin'), '*');
  assert.equal(offerings.headers.get('access-control-allow-credentials'), null);
  const pre = await preflight(`${cp}/offerings`, EVIL, 'GET', 'x-request-id');
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');

  const internal = await preflight(`${cp}/billing/authorize`, CONSOLE, 'POST', 'authorization,content-type');
  assert.equal(internal.headers.get('access-control-allow-origin'), null);
  assert.ok(internal.status >= 400);
  const authorize = await http('POST', `${cp}/billing/authorize`, { headers: { origin: CONSOLE }, body: {} });
  assert.equal(authorize.headers.get('access-control-allow-origin'), null);
});

test('an answer without an Origin still says Vary: Origin, so a shared cache never hands it to a browser', async () => {
  const r = await http('POST', `${gw}/v1/widget/session:init`, { body: { instanceId } });
  assert.ok(list(r.headers.get('vary')).includes('origin'));
  assert.equal(r.headers.get('access-control-allow-origin'), null);
});
