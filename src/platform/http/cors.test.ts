/**
 * The x-cors rules read from the bundled specs, pinned: a browser-facing operation added,
 * removed or widened shows up here (and in the specs' docs), never silently.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenAPIBackend } from 'openapi-backend';
import { loadDefinition } from '../spec';
import Koa from 'koa';
import { corsMiddleware, corsRulesOf, isWebOrigin, loopbackAliases } from './cors';

async function rules(service: string, alwaysExpose: string[] = []) {
  const api = new OpenAPIBackend({ definition: loadDefinition(service), quick: true, validate: false });
  await api.init();
  return corsRulesOf(api, alwaysExpose);
}

test('the gateway answers CORS for exactly its browser-facing operations', async () => {
  const r = await rules('gateway', ['X-Gateway-Overhead-Ms', 'Server-Timing']);
  assert.deepEqual(Object.fromEntries([...r.values()].map((x) => [x.operationId, x.origins.join(',')])), {
    createRun: 'configured,widget',
    createRunUpload: 'configured,widget',
    getRun: 'configured,widget',
    listRuns: 'configured,widget',
    listSessions: 'configured,widget',
    listSessionMessages: 'configured,widget',
    deleteSession: 'configured,widget',
    initWidgetSession: 'widget',
    createWorkspaceAuto: 'configured',
    autoActivateInstance: 'configured',
  });
  const run = r.get('createRun')!;
  // Accept: text/event-stream asks for the streamed answer.
  assert.deepEqual([...run.allowHeaders].sort(), ['Accept', 'Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id']);
  for (const h of ['Retry-After', 'X-Request-Id', 'X-Gateway-Overhead-Ms', 'Server-Timing', 'X-RateLimit-Remaining', 'Idempotent-Replayed']) {
    assert.ok(run.exposeHeaders.includes(h), h);
  }
  assert.deepEqual([...r.get('initWidgetSession')!.allowHeaders].sort(), ['Content-Type', 'X-Request-Id'], 'no Authorization: the widget has no credentials yet');
});

test('the control plane answers CORS for anonymous catalog reads (public) and what signed-in browser apps read (configured)', async () => {
  const r = await rules('control-plane');
  const byClass = (c: string) => [...r.values()].filter((x) => x.origins.includes(c as never)).map((x) => x.operationId).sort();
  assert.deepEqual(byClass('public'), ['getCapability', 'getOffering', 'getOfferingVersion', 'listCapabilities', 'listConnectors', 'listOfferingVersions', 'listOfferings']);
  assert.deepEqual(byClass('configured'), ['createOrgAuto', 'getInstance', 'getInstanceEntitlements', 'getWallet', 'listInstances', 'listLedgerEntries', 'listOrgs']);
  assert.deepEqual(byClass('widget'), []);
});

test('no browser-facing operation lets a browser send X-Api-Key', async () => {
  for (const service of ['gateway', 'control-plane', 'connector-gateway', 'runner', 'provisioner']) {
    for (const rule of (await rules(service)).values()) {
      assert.ok(!rule.allowHeaders.map((h) => h.toLowerCase()).includes('x-api-key'), `${service} ${rule.operationId}`);
    }
  }
});

test('only http(s) origins as browsers send them count as web origins', () => {
  assert.equal(isWebOrigin('https://shop.example'), true);
  assert.equal(isWebOrigin('http://localhost:5173'), true);
  for (const o of ['null', 'https://shop.example/', 'https://shop.example/path', 'file://', 'chrome-extension://abc', 'HTTPS://SHOP.EXAMPLE', '']) {
    assert.equal(isWebOrigin(o), false, o);
  }
});

test('a local service\'s own origin counts under each loopback name; other hosts have one origin', () => {
  assert.deepEqual(loopbackAliases('http://127.0.0.1:8081'), ['http://localhost:8081', 'http://127.0.0.1:8081', 'http://[::1]:8081']);
  assert.deepEqual(loopbackAliases('http://localhost:8081'), ['http://localhost:8081', 'http://127.0.0.1:8081', 'http://[::1]:8081']);
  assert.deepEqual(loopbackAliases('https://api.example.com'), ['https://api.example.com']);
});

test('an answer the handler streams itself is decided when its head is written: a widget session reads only from its own origin', async () => {
  const api = new OpenAPIBackend({ definition: loadDefinition('gateway'), quick: true, validate: false });
  await api.init();
  const koa = new Koa();
  koa.use(corsMiddleware(api, {
    decider: { configured: (o) => o === 'https://console.example', boundOrigin: (c) => (c.subject === 'ses_1' ? 'https://shop.example' : undefined) },
  }));
  koa.use(async (ctx) => {
    // What a streaming handler does: the caller is known, the head goes out before it returns.
    const widget = ctx.get('authorization') === 'widget';
    ctx.state.request = { caller: widget ? { kind: 'widget', subject: 'ses_1', roles: new Set(), scheme: 'bearerAuth' } : { kind: 'user', subject: 'u', roles: new Set(), scheme: 'bearerAuth' } };
    ctx.respond = false;
    ctx.res.writeHead(200, { 'content-type': 'text/event-stream' });
    ctx.res.end('event: done\ndata: {}\n\n');
  });
  const server = koa.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/runs`;
  try {
    const post = (origin: string, authorization: string) => fetch(url, { method: 'POST', headers: { origin, authorization } });
    const own = await post('https://shop.example', 'widget');
    assert.equal(own.headers.get('access-control-allow-origin'), 'https://shop.example');
    assert.match(own.headers.get('access-control-expose-headers') ?? '', /Retry-After/);
    assert.match(own.headers.get('vary') ?? '', /Origin/);
    assert.equal((await post('https://evil.example', 'widget')).headers.get('access-control-allow-origin'), null);
    assert.equal((await post('https://console.example', 'widget')).headers.get('access-control-allow-origin'), null, 'a widget session reads only from its origin');
    assert.equal((await post('https://console.example', 'user')).headers.get('access-control-allow-origin'), 'https://console.example');
    assert.equal((await post('https://shop.example', 'user')).headers.get('access-control-allow-origin'), null);
  } finally {
    server.close();
  }
});
