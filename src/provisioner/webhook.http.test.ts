/**
 * The Provisioner over HTTP (startTestStack(['provisioner']), every response validated against
 * its spec) with a fake Saleor serving its JWKS and a fake Control Plane recording calls.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { http, startTestStack, type TestStack } from '../../test/support/stack';
import { completeOrder, generateSaleorKey, legacyPayload, saleorHeaders, saleorJwks, type SaleorSigningKey, subscriptionPayload } from './saleor-dev';
import { type FakeControlPlane, type FakeSaleor, startFakeControlPlane, startFakeSaleor } from './testing';

const OV = 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M';

let stack: TestStack;
let cp: FakeControlPlane;
let saleor: FakeSaleor;
let key: SaleorSigningKey;
let webhookUrl: string;

before(async () => {
  key = await generateSaleorKey();
  saleor = await startFakeSaleor(saleorJwks(key));
  cp = await startFakeControlPlane();
  stack = await startTestStack(['provisioner'], { CP_BASE: cp.url, SALEOR_API_URLS: saleor.apiUrl });
  webhookUrl = `${stack.url('provisioner')}/webhooks/saleor/order-fully-paid`;
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

async function signedHeaders(raw: string, extra: Partial<Parameters<typeof saleorHeaders>[0]> = {}) {
  return saleorHeaders({ apiUrl: saleor.apiUrl, signature: await key.sign(raw), ...extra });
}

async function operatorToken() {
  return stack.userToken('ops@example.com', ['platform-operator']);
}

describe('POST /webhooks/saleor/order-fully-paid', () => {
  test('a signed webhook → 200; every line reaches the Control Plane with its key and the propagated X-Request-Id', async () => {
    const order = demoOrder();
    const raw = JSON.stringify(subscriptionPayload(order), null, 2); // formatting is part of the signed bytes
    const res = await send(raw, await signedHeaders(raw), 'req-saleor-77');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.orderId, order.id);
    assert.deepEqual(res.body.lines.map((l: any) => [l.kind, l.outcome]), [['instance', 'accepted'], ['credit_pack', 'accepted']]);
    const calls = cp.orderPaidCalls();
    assert.equal(calls.length, 2);
    for (const c of calls) {
      assert.equal(c.requestId, 'req-saleor-77');
      assert.match(c.authorization ?? '', /^Bearer ey/);
      assert.match(c.idempotencyKey ?? '', new RegExp(`^saleor:${order.id.replace(/[+/=]/g, '\\$&')}:`));
    }
    // The service token is the provisioner's (dev issuer): role svc:provisioner.
    const claims = JSON.parse(Buffer.from(calls[0]!.authorization!.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(claims.realm_access.roles, ['svc:provisioner']);
    assert.equal(claims.azp, 'provisioner');
  });

  test('a duplicate webhook sends identical Idempotency-Keys and payloads (the Control Plane dedupes)', async () => {
    const order = demoOrder();
    const raw = JSON.stringify(subscriptionPayload(order));
    const first = await send(raw, await signedHeaders(raw));
    const second = await send(raw, await signedHeaders(raw));
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const calls = cp.orderPaidCalls();
    assert.equal(calls.length, 4);
    const keysOf = (cs: typeof calls) => cs.map((c) => c.idempotencyKey).sort();
    assert.deepEqual(keysOf(calls.slice(0, 2)), keysOf(calls.slice(2)));
    assert.deepEqual(calls.slice(2).map((c) => c.body).sort((a, b) => a.lineId.localeCompare(b.lineId)), calls.slice(0, 2).map((c) => c.body).sort((a, b) => a.lineId.localeCompare(b.lineId)));
    assert.deepEqual(second.body.lines.map((l: any) => l.replayed), [true, true]);
  });

  test('the legacy array payload is accepted and maps to the same Control Plane requests', async () => {
    const order = completeOrder({ email: 'ada@example.com', lines: [{ sku: 'credits:250', quantity: 4 }] });
    const raw = JSON.stringify(legacyPayload(order));
    const res = await send(raw, await signedHeaders(raw));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [call] = cp.orderPaidCalls();
    assert.deepEqual(call!.body, {
      orderId: order.id,
      lineId: order.lines[0]!.id,
      orderNumber: String(order.number),
      buyer: { email: 'ada@example.com' },
      kind: 'credit_pack',
      quantity: 4,
      saleorVariantId: order.lines[0]!.variantId,
      sku: 'credits:250',
      creditsAmount: 250,
    });
  });

  test('unsigned, forged, tampered, unknown-domain and wrong-event webhooks are refused; nothing is forwarded or stored', async () => {
    const raw = JSON.stringify(subscriptionPayload(demoOrder()));
    const good = await signedHeaders(raw);
    const other = await generateSaleorKey();
    const unsigned = { ...good };
    delete unsigned['saleor-signature'];
    const cases: [string, string, Record<string, string>, number, string][] = [
      ['unsigned', raw, unsigned, 401, 'SIGNATURE_INVALID'],
      ['forged (another key claiming the instance\'s kid)', raw, { ...good, 'saleor-signature': await other.sign(raw, { header: { kid: key.kid } }) }, 401, 'SIGNATURE_INVALID'],
      ['tampered body', raw.replace('ada@example.com', 'eve@example.com'), good, 401, 'SIGNATURE_INVALID'],
      ['unknown Saleor', raw, await signedHeaders(raw, { apiUrl: 'https://evil.example/graphql/' }), 403, 'FORBIDDEN'],
      ['Saleor-Domain mismatch', raw, await signedHeaders(raw, { domain: 'evil.example' }), 403, 'FORBIDDEN'],
      ['wrong event', raw, await signedHeaders(raw, { event: 'order_created' }), 400, 'VALIDATION_FAILED'],
    ];
    for (const [name, body, headers, status, code] of cases) {
      const res = await send(body, headers, `req-${status}`);
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, name);
      assert.equal(res.body.error.traceId, `req-${status}`, name);
    }
    assert.equal(cp.calls.length, 0, 'nothing reached the Control Plane');
    const dead = await http('GET', `${stack.url('provisioner')}/dead-letters`, { token: await operatorToken() });
    assert.equal(dead.status, 200);
    assert.equal(dead.body.items.filter((d: any) => d.request?.buyer?.email === 'eve@example.com').length, 0, 'nothing was stored');
  });
});

describe('dead letters (operators)', () => {
  test('need the platform-operator role: 401 without a token, 403 without the role', async () => {
    const url = `${stack.url('provisioner')}/dead-letters`;
    assert.equal((await http('GET', url)).status, 401);
    const res = await http('GET', url, { token: await stack.userToken('buyer@example.com') });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'FORBIDDEN');
  });

  test('a refused line is listed, readable and replayed with the same Idempotency-Key', async () => {
    cp.failNext({ status: 409, code: 'IDEMPOTENCY_PAYLOAD_MISMATCH' });
    const order = completeOrder({ email: 'ada@example.com', lines: [{ sku: 'credits:9' }] });
    const raw = JSON.stringify(subscriptionPayload(order));
    const res = await send(raw, await signedHeaders(raw));
    assert.equal(res.status, 200, 'a dead-lettered line still answers Saleor 200');
    const line = res.body.lines[0];
    assert.equal(line.outcome, 'dead_lettered');
    assert.equal(line.deadLetterStatus, 'failed');

    const token = await operatorToken();
    const base = `${stack.url('provisioner')}/dead-letters`;
    const list = await http('GET', `${base}?status=failed&orderId=${encodeURIComponent(order.id)}`, { token });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items.map((d: any) => d.id), [line.deadLetterId]);
    const one = await http('GET', `${base}/${line.deadLetterId}`, { token });
    assert.equal(one.status, 200);
    assert.equal(one.body.lastError.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
    assert.doesNotMatch(JSON.stringify(one.body), /saleor-signature|\.\./i);

    const replay = await http('POST', `${base}/${line.deadLetterId}/replay`, { token, headers: { 'x-request-id': 'req-replay-9' } });
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.body.status, 'replayed');
    const last = cp.orderPaidCalls().at(-1)!;
    assert.equal(last.idempotencyKey, `saleor:${order.id}:${order.lines[0]!.id}`);
    assert.equal(last.requestId, 'req-replay-9');
    assert.equal((await http('POST', `${base}/${line.deadLetterId}/replay`, { token })).status, 409);
    assert.equal((await http('GET', `${base}/dlq_00000000000000000000000000`, { token })).status, 404);
  });
});
