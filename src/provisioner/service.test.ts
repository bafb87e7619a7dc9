/**
 * Order lines → Control Plane, over real HTTP to a fake Control Plane and a real (test)
 * database for the dead letters; the retry schedule runs on a fake sleep.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import { createLogger } from '../platform/logger';
import { createCatalogResolver, createControlPlaneClient } from './cp-client';
import { createDeadLetterStore } from './dead-letters';
import { parseOrderPayload } from './order';
import { completeOrder, subscriptionPayload } from './saleor-dev';
import { createProvisioner, type Provisioner } from './service';
import { type FakeControlPlane, startFakeControlPlane } from './testing';
import type { TokenSource } from '../auth/token-source';

const log = createLogger({ level: 'silent' });
const OV = 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M';

let db: TestDb;
let cp: FakeControlPlane;
let sleeps: number[];
let tokensIssued: number;
let provisioner: Provisioner;

const tokens: TokenSource = {
  async token() {
    tokensIssued++;
    return `token-${tokensIssued}`;
  },
  invalidate() {},
};

before(async () => {
  db = await openTestDb();
});
after(async () => {
  await db?.close();
});
beforeEach(async () => {
  await cp?.close();
  cp = await startFakeControlPlane();
  sleeps = [];
  tokensIssued = 0;
  provisioner = createProvisioner({
    client: createControlPlaneClient({ baseUrl: () => cp.url, tokens }),
    catalog: createCatalogResolver({ baseUrl: () => cp.url }),
    deadLetters: createDeadLetterStore(db.db),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
});
after(async () => cp?.close());

const order = (lines: Parameters<typeof completeOrder>[0]['lines']) =>
  parseOrderPayload(subscriptionPayload(completeOrder({ email: 'ada@example.com', lines })));
const apply = (o: ReturnType<typeof order>, requestId = 'req-test-1') =>
  provisioner.applyOrder(o, { saleorApiUrl: 'https://shop.example.com/graphql/', requestId, log });

describe('Provisioner → Control Plane', () => {
  test('every line is sent once with Idempotency-Key saleor:<orderId>:<lineId>, the request id and a service token', async () => {
    const o = order([{ sku: 'credits:500', quantity: 2 }, { sku: 'x', metadata: { offeringVersionId: OV, planId: 'pro' } }]);
    const result = await apply(o, 'req-propagated-42');
    assert.deepEqual(result.lines.map((l) => l.outcome), ['accepted', 'accepted']);
    const calls = cp.orderPaidCalls();
    assert.equal(calls.length, 2);
    assert.deepEqual(new Set(calls.map((c) => c.idempotencyKey)), new Set(o.lines.map((l) => `saleor:${o.id}:${l.id}`)));
    for (const c of calls) {
      assert.equal(c.requestId, 'req-propagated-42');
      assert.match(c.authorization ?? '', /^Bearer token-\d$/);
    }
    assert.deepEqual(sleeps, []);
  });

  test('502 twice then success: three attempts after 1 s and 2 s, accepted, nothing dead-lettered', async () => {
    cp.failNext(502, 502);
    const o = order([{ sku: 'credits:100' }]);
    const result = await apply(o);
    assert.equal(result.lines[0]!.outcome, 'accepted');
    assert.equal(result.lines[0]!.attempts, 3);
    assert.deepEqual(sleeps, [1000, 2000]);
    assert.equal(cp.orderPaidCalls().length, 3);
    assert.equal((await provisioner.deadLetters.list({ orderId: o.id, limit: 10 })).items.length, 0);
  });

  test('Control Plane down: 6 attempts after 1, 2, 4, 8, 16 s → pending dead letter; replay once it is back → replayed with the same key', async () => {
    cp.down = true;
    const o = order([{ sku: 'credits:500', quantity: 2 }]);
    const result = await apply(o);
    const line = result.lines[0]!;
    assert.equal(line.outcome, 'dead_lettered');
    assert.equal(line.deadLetterStatus, 'pending');
    assert.equal(line.attempts, 6);
    assert.deepEqual(sleeps, [1000, 2000, 4000, 8000, 16000]);
    assert.equal(cp.calls.length, 6);

    const dl = (await provisioner.deadLetters.get(line.deadLetterId!))!;
    assert.equal(dl.status, 'pending');
    assert.equal(dl.attempts, 6);
    assert.equal(dl.idempotencyKey, `saleor:${o.id}:${o.lines[0]!.id}`);
    assert.equal(dl.request?.kind, 'credit_pack');
    assert.equal(dl.request?.creditsAmount, 500);
    assert.equal(dl.lastError.code, 'CONTROL_PLANE_UNAVAILABLE');
    assert.equal(dl.lastError.httpStatus, null);
    assert.doesNotMatch(JSON.stringify(dl), /Bearer|token-|signature/i, 'no credentials in a dead letter');

    cp.down = false;
    const replayed = await provisioner.replay(dl.id, { requestId: 'req-replay', log });
    assert.equal(replayed.status, 'replayed');
    assert.equal(replayed.attempts, 7);
    assert.equal(replayed.result?.httpStatus, 201);
    assert.ok(replayed.replayedAt);
    const last = cp.orderPaidCalls().at(-1)!;
    assert.equal(last.idempotencyKey, dl.idempotencyKey);
    assert.deepEqual(last.body, dl.request);
    assert.deepEqual(sleeps, [1000, 2000, 4000, 8000, 16000], 'a replay is a single attempt');

    await assert.rejects(provisioner.replay(dl.id, { requestId: 'req-replay-2', log }), { code: 'CONFLICT' });
  });

  test('409 IDEMPOTENCY_PAYLOAD_MISMATCH is final: one attempt, failed dead letter', async () => {
    cp.failNext({ status: 409, code: 'IDEMPOTENCY_PAYLOAD_MISMATCH' });
    const o = order([{ sku: 'credits:5' }]);
    const line = (await apply(o)).lines[0]!;
    assert.equal(line.attempts, 1);
    assert.equal(line.cpStatus, 409);
    assert.equal(line.deadLetterStatus, 'failed');
    assert.deepEqual(sleeps, []);
    const dl = (await provisioner.deadLetters.get(line.deadLetterId!))!;
    assert.equal(dl.lastError.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
  });

  test('422 and other 4xx are not retried; 409 IDEMPOTENCY_IN_PROGRESS and 503 are', async () => {
    cp.failNext({ status: 422, code: 'UNPROCESSABLE' });
    assert.equal((await apply(order([{ sku: 'credits:5' }]))).lines[0]!.attempts, 1);
    sleeps = [];
    cp.failNext({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS' }, 503);
    const line = (await apply(order([{ sku: 'credits:6' }]))).lines[0]!;
    assert.equal(line.outcome, 'accepted');
    assert.equal(line.attempts, 3);
    assert.deepEqual(sleeps, [1000, 2000]);
  });

  test('a 401 drops the cached token and is tried again at once with a new one', async () => {
    cp.failNext({ status: 401, code: 'UNAUTHENTICATED' });
    const line = (await apply(order([{ sku: 'credits:7' }]))).lines[0]!;
    assert.equal(line.outcome, 'accepted');
    assert.deepEqual(sleeps, []);
    const [first, second] = cp.orderPaidCalls();
    assert.notEqual(first!.authorization, second!.authorization);
  });

  test('a redelivered webhook replays the Control Plane answer and resolves the line\'s dead letter', async () => {
    cp.down = true;
    const o = order([{ sku: 'credits:50' }]);
    const first = (await apply(o)).lines[0]!;
    assert.equal(first.deadLetterStatus, 'pending');
    cp.down = false;
    const second = (await apply(o)).lines[0]!;
    assert.equal(second.outcome, 'accepted');
    assert.equal(second.deadLetterId, first.deadLetterId);
    assert.equal(second.deadLetterStatus, 'replayed');
    const third = (await apply(o)).lines[0]!;
    assert.equal(third.replayed, true, 'the Control Plane replays its first answer');
    assert.equal((await provisioner.deadLetters.list({ orderId: o.id, limit: 10 })).items.length, 1, 'one dead letter per line, whatever the deliveries');
  });

  test('a line that cannot be mapped is a failed dead letter without a request; replay maps it again', async () => {
    const o = order([{ sku: 'new-agent:pro' }]);
    const line = (await apply(o)).lines[0]!;
    assert.equal(line.deadLetterStatus, 'failed');
    assert.equal(line.kind, null);
    const dl = (await provisioner.deadLetters.get(line.deadLetterId!))!;
    assert.equal(dl.request, null);
    assert.match(dl.lastError.message, /No published offering with the slug "new-agent"/);
    assert.equal(cp.orderPaidCalls().length, 0);

    cp.offerings.push({ slug: 'new-agent', publishedVersionId: OV, lifecycle: 'published', plans: [{ id: 'starter' }, { id: 'pro' }] });
    const replayed = await provisioner.replay(dl.id, { requestId: 'req-r', log });
    assert.equal(replayed.status, 'replayed');
    assert.equal(replayed.request?.offeringVersionId, OV);
    assert.equal(replayed.kind, 'instance');
  });

  test('dead letters list newest first, filtered by status, with a cursor', async () => {
    cp.failNext({ status: 422, code: 'UNPROCESSABLE' }, { status: 422, code: 'UNPROCESSABLE' }, { status: 422, code: 'UNPROCESSABLE' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await apply(order([{ sku: `credits:${i + 1}` }]))).lines[0]!.deadLetterId!);
    const page1 = await provisioner.deadLetters.list({ status: 'failed', limit: 2 });
    assert.equal(page1.items.length, 2);
    assert.ok(page1.nextCursor);
    assert.deepEqual(page1.items.map((d) => d.id).slice(0, 2), [ids[2], ids[1]]);
    const page2 = await provisioner.deadLetters.list({ status: 'failed', limit: 2, cursor: page1.nextCursor! });
    assert.ok(page2.items.some((d) => d.id === ids[0]));
  });
});
