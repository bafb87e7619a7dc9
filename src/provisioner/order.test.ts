import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CatalogResolver, idempotencyKeyFor, mapLine, MappingError, parseOrderPayload, type ParsedOrder } from './order';
import { completeOrder, legacyPayload, subscriptionPayload } from './saleor-dev';

const OV = 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M';
const API = 'https://shop.example.com/graphql/';
const catalog: CatalogResolver = {
  async publishedVersion(slug, planId) {
    if (slug === 'support-assistant' && ['starter', 'pro'].includes(planId)) return OV;
    throw new MappingError(`No published offering with the slug "${slug}"`);
  },
};

const mapAll = (order: ParsedOrder, resolver: CatalogResolver | undefined = catalog) => {
  const header = { id: order.id, number: order.number, email: order.email, orgId: order.orgId, projectId: order.projectId };
  return Promise.all(order.lines.map((line) => mapLine({ order: header, line }, API, resolver)));
};

const demo = completeOrder({
  number: 1042,
  email: 'ada@example.com',
  metadata: { orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X' },
  lines: [
    { sku: 'support-assistant:pro' },
    { sku: 'credits:500', quantity: 3 },
  ],
});

describe('ORDER_FULLY_PAID payload mapping', () => {
  test('the subscription and the legacy payload of one order map to the same Control Plane requests', async () => {
    const fromSubscription = await mapAll(parseOrderPayload(subscriptionPayload(demo)));
    const fromLegacy = await mapAll(parseOrderPayload(legacyPayload(demo)));
    assert.deepEqual(fromSubscription, fromLegacy);
    assert.deepEqual(fromSubscription[0], {
      orderId: demo.id,
      lineId: demo.lines[0]!.id,
      orderNumber: '1042',
      buyer: { email: 'ada@example.com', orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X' },
      kind: 'instance',
      offeringVersionId: OV,
      planId: 'pro',
      quantity: 1,
      saleorVariantId: demo.lines[0]!.variantId,
      sku: 'support-assistant:pro',
      saleorApiUrl: API,
    });
  });

  test('a credit pack line is a top-up of creditsAmount × quantity (metadata or SKU credits:<amount>)', async () => {
    const [, bySku] = await mapAll(parseOrderPayload(legacyPayload(demo)));
    assert.equal(bySku!.kind, 'credit_pack');
    assert.equal(bySku!.creditsAmount, 500);
    assert.equal(bySku!.quantity, 3);
    assert.equal(bySku!.offeringVersionId, undefined);

    const byMetadata = completeOrder({ email: 'ada@example.com', lines: [{ sku: 'pack-large', quantity: 2, metadata: { creditsAmount: '2500' } }] });
    const [req] = await mapAll(parseOrderPayload(subscriptionPayload(byMetadata)));
    assert.equal(req!.kind, 'credit_pack');
    assert.equal(req!.creditsAmount, 2500);
    assert.equal(req!.quantity, 2);

    const byProduct = completeOrder({ email: 'ada@example.com', lines: [{ sku: 'pack-x', productMetadata: { creditsAmount: '100' } }] });
    assert.equal((await mapAll(parseOrderPayload(subscriptionPayload(byProduct))))[0]!.creditsAmount, 100);
  });

  test('a legacy line is mapped by its SKU only: metadata fields in a legacy line are not read', async () => {
    const order = completeOrder({ email: 'ada@example.com', lines: [{ sku: 'credits:40' }, { sku: 'support-assistant:pro' }, { sku: 'pack-large' }] });
    const payload = legacyPayload(order) as any[];
    // Saleor never sends these in the legacy body; whatever claims to be metadata there is ignored.
    payload[0].lines[0].variant_metadata = { creditsAmount: '999999' };
    payload[0].lines[2].variant_metadata = { creditsAmount: '2500' };
    payload[0].lines[2].product_metadata = { creditsAmount: '2500' };
    const parsed = parseOrderPayload(payload);
    assert.deepEqual(parsed.lines.map((l) => [l.variantMetadata, l.productMetadata]), [[{}, {}], [{}, {}], [{}, {}]]);
    const header = { id: parsed.id, number: parsed.number, email: parsed.email, orgId: parsed.orgId, projectId: parsed.projectId };
    assert.equal((await mapLine({ order: header, line: parsed.lines[0]! }, API, catalog)).creditsAmount, 40);
    const plan = await mapLine({ order: header, line: parsed.lines[1]! }, API, catalog);
    assert.deepEqual([plan.kind, plan.offeringVersionId, plan.planId], ['instance', OV, 'pro']);
    await assert.rejects(mapLine({ order: header, line: parsed.lines[2]! }, API, catalog), /neither a credit pack nor a plan/);
  });

  test('the subscription form keeps variant and product metadata', async () => {
    const order = completeOrder({ email: 'ada@example.com', lines: [{ sku: 'pack-large', metadata: { creditsAmount: '2500' } }, { sku: 'pack-x', productMetadata: { creditsAmount: '7' } }] });
    const parsed = parseOrderPayload(subscriptionPayload(order));
    assert.deepEqual(parsed.lines.map((l) => [l.variantMetadata, l.productMetadata]), [[{ creditsAmount: '2500' }, {}], [{}, { creditsAmount: '7' }]]);
  });

  test('variant metadata offeringVersionId + planId needs no catalog lookup', async () => {
    const order = completeOrder({ email: 'ada@example.com', lines: [{ sku: 'anything-goes', metadata: { offeringVersionId: OV, planId: 'starter' } }] });
    const [req] = await mapAll(parseOrderPayload(subscriptionPayload(order)), undefined);
    assert.equal(req!.kind, 'instance');
    assert.equal(req!.offeringVersionId, OV);
    assert.equal(req!.planId, 'starter');
  });

  test('buyer-writable order and line metadata can not turn a plan into free credits', async () => {
    // Saleor copies checkout metadata (writable by the buyer) into the order: it must not decide what was bought.
    const payload = subscriptionPayload(completeOrder({ email: 'eve@example.com', metadata: { creditsAmount: '100000000' }, lines: [{ sku: 'support-assistant:starter' }] })) as any;
    payload.order.lines[0].metadata = [{ key: 'creditsAmount', value: '99999' }];
    const [req] = await mapAll(parseOrderPayload(payload));
    assert.equal(req!.kind, 'instance');
    assert.equal(req!.creditsAmount, undefined);
  });

  test('private order metadata wins over public for orgId / projectId', async () => {
    const payload = subscriptionPayload(completeOrder({ email: 'ada@example.com', metadata: { orgId: 'org_PUBLIC0000000' }, lines: [{ sku: 'credits:10' }] })) as any;
    payload.order.privateMetadata = [{ key: 'orgId', value: 'org_PRIVATE000000' }, { key: 'projectId', value: 'prj_PRIVATE000000' }];
    const [req] = await mapAll(parseOrderPayload(payload));
    assert.deepEqual(req!.buyer, { email: 'ada@example.com', orgId: 'org_PRIVATE000000', projectId: 'prj_PRIVATE000000' });
  });

  test('lines that cannot be mapped are permanent MappingErrors naming the reason', async () => {
    const cases: [string, Parameters<typeof completeOrder>[0], RegExp][] = [
      ['no email', { email: '', lines: [{ sku: 'credits:10' }] }, /buyer email/],
      ['unknown SKU', { email: 'a@example.com', lines: [{ sku: 'T-SHIRT-XL' }] }, /neither a credit pack nor a plan/],
      ['plan not offered', { email: 'a@example.com', lines: [{ sku: 'support-assistant:enterprise' }] }, /No published offering/],
      ['metadata plan ≠ SKU plan', { email: 'a@example.com', lines: [{ sku: 'support-assistant:pro', metadata: { planId: 'starter', offeringVersionId: OV } }] }, /disagrees/],
      ['both pack and plan', { email: 'a@example.com', lines: [{ sku: 'x', metadata: { creditsAmount: '5', offeringVersionId: OV, planId: 'pro' } }] }, /both a credit pack .* and a plan/],
      ['zero credits', { email: 'a@example.com', lines: [{ sku: 'x', metadata: { creditsAmount: '0' } }] }, /creditsAmount must be/],
      ['bad org id', { email: 'a@example.com', metadata: { orgId: 'acme' }, lines: [{ sku: 'credits:5' }] }, /not an org id/],
      ['quantity over 100', { email: 'a@example.com', lines: [{ sku: 'credits:5', quantity: 101 }] }, /quantity/],
    ];
    for (const [name, order, reason] of cases) {
      await assert.rejects(mapAll(parseOrderPayload(subscriptionPayload(completeOrder(order)))), (err: unknown) => {
        assert.ok(err instanceof MappingError, name);
        assert.equal(err.transient, false, name);
        assert.match(err.message, reason, name);
        return true;
      });
    }
  });

  test('the idempotency key is saleor:<instance tag>:<orderId>:<lineId>: the same ids from two Saleor instances never share a key', () => {
    assert.equal(idempotencyKeyFor(API, 'T3JkZXI6MQ==', 'T3JkZXJMaW5lOjE='), 'saleor:be19169711b16065:T3JkZXI6MQ==:T3JkZXJMaW5lOjE=');
    const other = idempotencyKeyFor('https://other-shop.example.com/graphql/', 'T3JkZXI6MQ==', 'T3JkZXJMaW5lOjE=');
    assert.notEqual(other, idempotencyKeyFor(API, 'T3JkZXI6MQ==', 'T3JkZXJMaW5lOjE='));
    assert.match(other, /^saleor:[0-9a-f]{16}:T3JkZXI6MQ==:T3JkZXJMaW5lOjE=$/);
  });

  test('a payload without an order is refused', () => {
    assert.throws(() => parseOrderPayload([]), MappingError);
    assert.throws(() => parseOrderPayload({ issuedAt: 'x' }), MappingError);
  });
});
