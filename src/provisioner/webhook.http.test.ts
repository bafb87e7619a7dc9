/**
 * The Provisioner over HTTP (startTestStack(['provisioner']), every response validated against
 * its spec, its inbox worker running) with a fake Saleor serving its JWKS and a fake Control
 * Plane recording calls. Bodies are the bytes Saleor sends (Python's json.dumps formatting),
 * signed as Saleor's pyjwt signs them.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { http, startTestStack, type TestStack } from '../../test/support/stack';
import { completeOrder, generateSaleorKey, legacyPayload, saleorHeaders, saleorJwks, saleorPayloadBytes, type SaleorJwsForm, type SaleorSigningKey, subscriptionPayload } from './saleor-dev';
import { type FakeControlPlane, type FakeSaleor, startFakeControlPlane, startFakeSaleor } from './testing';

const OV = 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M';

let stack: TestStack;
let cp: FakeControlPlane;
let saleor: FakeSaleor;
let key: SaleorSigningKey;
let webhookUrl: string;
let downApiUrl: string;
let ops: string;

before(async () => {
  key = await generateSaleorKey();
  saleor = await startFakeSaleor(saleorJwks(key));
  cp = await startFakeControlPlane();
  downApiUrl = `${await closedPortUrl()}/graphql/`; // allow-listed, but its JWKS is unreachable
  stack = await startTestStack(['provisioner'], { CP_BASE: cp.url, SALEOR_API_URLS: `${saleor.apiUrl},${downApiUrl}` });
  webhookUrl = `${stack.url('provisioner')}/webhooks/saleor/order-fully-paid`;
  ops = await stack.userToken('ops@example.com', ['platform-operator']);
});
after(async () => {
  await stack?.close();
  await cp?.close();
  await saleor?.close();
});
beforeEach(() => {
  cp.calls.length = 0;
});

const demoOrder = () =>
  completeOrder({
    email: 'ada@example.com',
    lines: [
      { sku: 'support-assistant:pro', metadata: { offeringVersionId: OV, planId: 'pro' } },
      { sku: 'credits:500', quantity: 2, metadata: { creditsAmount: '500' } },
    ],
  });

/** Sends `raw` exactly as given (the signature covers these bytes). */
async function send(raw: string, headers: Record<string, string>, requestId = 'req-webhook-1') {
  return http('POST', webhookUrl, { raw, headers: { ...headers, 'x-request-id': requestId } });
}

async function signedHeaders(raw: string, extra: Partial<Parameters<typeof saleorHeaders>[0]> = {}, form: SaleorJwsForm = 'crit') {
  return saleorHeaders({ apiUrl: saleor.apiUrl, signature: await key.sign(raw, { form }), ...extra });
}

async function inboxMessage(id: string) {
  const res = await http('GET', `${stack.url('provisioner')}/inbox/${id}`, { token: ops });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function settled(id: string, timeoutMs = 5000) {
  const started = Date.now();
  for (;;) {
    const m = await inboxMessage(id);
    if (m.status !== 'queued') return m;
    if (Date.now() - started > timeoutMs) assert.fail(`inbox message ${id} still queued: ${JSON.stringify(m)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('POST /webhooks/saleor/order-fully-paid', () => {
  test('a signed webhook is held and answered 200; the inbox then sends every line to the Control Plane with its key and the webhook\'s X-Request-Id', async () => {
    const order = demoOrder();
    const raw = saleorPayloadBytes(subscriptionPayload(order));
    const res = await send(raw, await signedHeaders(raw), 'req-saleor-77');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.orderId, res.body.status, res.body.duplicate, res.body.saleorApiUrl], [order.id, 'queued', false, saleor.apiUrl]);
    assert.equal(res.body.lines.length, 2);
    const m = await settled(res.body.inboxId);
    assert.equal(m.status, 'delivered');
    assert.deepEqual(m.lines.map((l: any) => [l.kind, l.outcome]), [['instance', 'accepted'], ['credit_pack', 'accepted']]);
    assert.deepEqual([m.payloadForm, m.signedWith, m.jwsHeader], ['subscription', 'jws', 'crit']);
    const calls = cp.orderPaidCalls();
    assert.equal(calls.length, 2);
    assert.deepEqual(calls.map((c) => c.idempotencyKey).sort(), res.body.lines.map((l: any) => l.idempotencyKey).sort());
    for (const c of calls) {
      assert.equal(c.requestId, 'req-saleor-77');
      assert.match(c.authorization ?? '', /^Bearer ey/);
      assert.match(c.idempotencyKey ?? '', /^saleor:[0-9a-f]{16}:/);
    }
    // The service token is the provisioner's (dev issuer): role svc:provisioner.
    const claims = JSON.parse(Buffer.from(calls[0]!.authorization!.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(claims.realm_access.roles, ['svc:provisioner']);
    assert.equal(claims.azp, 'provisioner');
  });

  for (const [form, who] of [['crit', 'Saleor 3.20'], ['no-crit', 'Saleor 3.19.0'], ['no-crit-unsorted', 'Saleor on pyjwt 2.4.0']] as const) {
    test(`an order signed as ${who} signs it (${form}) is held and delivered`, async () => {
      const order = completeOrder({ email: 'zoë@example.com', lines: [{ sku: 'credits:30' }] });
      const raw = saleorPayloadBytes(legacyPayload(order));
      const res = await send(raw, await signedHeaders(raw, {}, form));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const m = await settled(res.body.inboxId);
      assert.equal(m.status, 'delivered');
      assert.equal(m.jwsHeader, form === 'crit' ? 'crit' : 'no-crit');
    });
  }

  test('a redelivery of a held order answers 200 duplicate and sends nothing again', async () => {
    const order = demoOrder();
    const raw = saleorPayloadBytes(subscriptionPayload(order));
    const first = await send(raw, await signedHeaders(raw));
    await settled(first.body.inboxId);
    const second = await send(raw, await signedHeaders(raw));
    assert.equal(second.status, 200);
    assert.deepEqual([second.body.inboxId, second.body.duplicate, second.body.status], [first.body.inboxId, true, 'delivered']);
    assert.equal(cp.orderPaidCalls().length, 2);
    assert.equal((await inboxMessage(first.body.inboxId)).deliveries, 2);
  });

  test('the legacy array payload (Saleor\'s bytes, UTF-8) maps by SKU to the Control Plane request', async () => {
    const order = completeOrder({ email: 'zoë@example.com', lines: [{ sku: 'credits:250', quantity: 4 }] });
    const raw = saleorPayloadBytes(legacyPayload(order));
    assert.match(raw, /"user_email": "zoë@example.com"/, 'Django writes non-ASCII as is');
    const res = await send(raw, await signedHeaders(raw));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await settled(res.body.inboxId);
    const [call] = cp.orderPaidCalls();
    assert.deepEqual(call!.body, {
      saleorApiUrl: saleor.apiUrl,
      orderId: order.id,
      lineId: order.lines[0]!.id,
      orderNumber: String(order.number),
      buyer: { email: 'zoë@example.com' },
      kind: 'credit_pack',
      quantity: 4,
      saleorVariantId: order.lines[0]!.variantId,
      sku: 'credits:250',
      creditsAmount: 250,
    });
  });
});

describe('Saleor\'s delivery rules: 4xx only for what must never be retried, 5xx for what is on our side', () => {
  test('the matrix: what Saleor would retry and what not', async () => {
    const order = demoOrder();
    const raw = saleorPayloadBytes(subscriptionPayload(order));
    const good = await signedHeaders(raw);
    const other = await generateSaleorKey();
    const unsigned = { ...good };
    delete unsigned['saleor-signature'];
    await settled((await send(raw, good)).body.inboxId); // the JWKS was fetched now: the refetch cools down for 10 s
    cp.calls.length = 0;
    const otherOrder = completeOrder({ email: 'eve@example.com', lines: [{ sku: 'credits:1' }] });
    const otherRaw = saleorPayloadBytes(subscriptionPayload(otherOrder));
    const cases: { name: string; body: string; headers: Record<string, string>; status: number; code: string }[] = [
      // Never retried by Saleor (3xx/4xx): nothing a redelivery could change.
      { name: 'unsigned', body: otherRaw, headers: unsigned, status: 401, code: 'SIGNATURE_INVALID' },
      { name: 'forged: another key claiming the instance\'s kid', body: otherRaw, headers: { ...good, 'saleor-signature': await other.sign(otherRaw, { header: { kid: key.kid } }) }, status: 401, code: 'SIGNATURE_INVALID' },
      { name: 'tampered body', body: otherRaw.replace('eve@', 'mallory@'), headers: await signedHeaders(otherRaw), status: 401, code: 'SIGNATURE_INVALID' },
      { name: 'HS256 header', body: otherRaw, headers: { ...good, 'saleor-signature': await key.sign(otherRaw, { header: { alg: 'HS256' } }) }, status: 401, code: 'SIGNATURE_INVALID' },
      { name: 'unknown Saleor', body: otherRaw, headers: await signedHeaders(otherRaw, { apiUrl: 'https://evil.example/graphql/' }), status: 403, code: 'FORBIDDEN' },
      { name: 'another API path on an allowed origin', body: otherRaw, headers: await signedHeaders(otherRaw, { apiUrl: saleor.apiUrl.replace('/graphql/', '/other/graphql/') }), status: 403, code: 'FORBIDDEN' },
      { name: 'Saleor-Domain mismatch', body: otherRaw, headers: await signedHeaders(otherRaw, { domain: 'evil.example' }), status: 403, code: 'FORBIDDEN' },
      { name: 'another event', body: otherRaw, headers: await signedHeaders(otherRaw, { event: 'order_created' }), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'not an ORDER_FULLY_PAID payload', body: '{"issuedAt": null}', headers: await signedHeaders('{"issuedAt": null}'), status: 400, code: 'VALIDATION_FAILED' },
      // Retried by Saleor (5xx): on our side, a redelivery later goes through.
      { name: 'a kid not known yet while the JWKS refetch cools down', body: otherRaw, headers: { ...good, 'saleor-signature': await other.sign(otherRaw) }, status: 503, code: 'DEPENDENCY_UNAVAILABLE' },
      { name: 'the Saleor instance\'s JWKS unreachable', body: otherRaw, headers: await signedHeaders(otherRaw, { apiUrl: downApiUrl }), status: 503, code: 'DEPENDENCY_UNAVAILABLE' },
    ];
    for (const c of cases) {
      const res = await send(c.body, c.headers, 'req-matrix');
      assert.equal(res.status, c.status, `${c.name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, c.code, c.name);
      assert.equal(res.body.error.traceId, 'req-matrix', c.name);
      if (c.status >= 500) assert.ok(c.code === 'DEPENDENCY_UNAVAILABLE', c.name);
    }
    assert.equal(cp.calls.length, 0, 'nothing reached the Control Plane');
    const held = await http('GET', `${stack.url('provisioner')}/inbox?orderId=${encodeURIComponent(otherOrder.id)}`, { token: ops });
    assert.deepEqual(held.body.items, [], 'nothing was held');

    // The Control Plane down is not Saleor's problem: 200, the order is held.
    cp.down = true;
    try {
      const t0 = performance.now();
      const res = await send(otherRaw, await signedHeaders(otherRaw));
      assert.equal(res.status, 200);
      assert.ok(performance.now() - t0 < 2000, 'answered within 2 s');
      assert.equal((await inboxMessage(res.body.inboxId)).status, 'queued');
    } finally {
      cp.down = false;
    }
  });
});

describe('operators', () => {
  test('inbox and dead letters need the platform-operator role: 401 without a token, 403 without the role', async () => {
    for (const path of ['/dead-letters', '/inbox']) {
      const url = `${stack.url('provisioner')}${path}`;
      assert.equal((await http('GET', url)).status, 401, path);
      const res = await http('GET', url, { token: await stack.userToken('buyer@example.com') });
      assert.equal(res.status, 403, path);
      assert.equal(res.body.error.code, 'FORBIDDEN');
    }
    assert.equal((await http('GET', `${stack.url('provisioner')}/inbox/inb_00000000000000000000000000`, { token: ops })).status, 404);
  });

  test('a refused line is listed, readable and replayed with the same Idempotency-Key', async () => {
    cp.failNext({ status: 409, code: 'IDEMPOTENCY_PAYLOAD_MISMATCH' });
    const order = completeOrder({ email: 'ada@example.com', lines: [{ sku: 'credits:9' }] });
    const raw = saleorPayloadBytes(subscriptionPayload(order));
    const res = await send(raw, await signedHeaders(raw));
    assert.equal(res.status, 200);
    const m = await settled(res.body.inboxId);
    assert.equal(m.status, 'dead_lettered');
    const line = m.lines[0];
    assert.equal(line.deadLetterStatus, 'failed');

    const base = `${stack.url('provisioner')}/dead-letters`;
    const list = await http('GET', `${base}?status=failed&orderId=${encodeURIComponent(order.id)}`, { token: ops });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items.map((d: any) => d.id), [line.deadLetterId]);
    const one = await http('GET', `${base}/${line.deadLetterId}`, { token: ops });
    assert.equal(one.status, 200);
    assert.equal(one.body.lastError.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
    assert.doesNotMatch(JSON.stringify(one.body), /saleor-signature|\.\./i);

    const replay = await http('POST', `${base}/${line.deadLetterId}/replay`, { token: ops, headers: { 'x-request-id': 'req-replay-9' } });
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.body.status, 'replayed');
    const last = cp.orderPaidCalls().at(-1)!;
    assert.equal(last.idempotencyKey, line.idempotencyKey);
    assert.equal(last.requestId, 'req-replay-9');
    assert.equal((await http('POST', `${base}/${line.deadLetterId}/replay`, { token: ops })).status, 409);
    assert.equal((await http('GET', `${base}/dlq_00000000000000000000000000`, { token: ops })).status, 404);
  });
});

/** A URL nothing listens on (connection refused): a port we bound and released. */
async function closedPortUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
