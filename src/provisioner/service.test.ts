/**
 * Held orders → Control Plane, round by round, over real HTTP to a fake Control Plane and a real
 * (test) database for the inbox and the dead letters. The clock is ours: a round is due when the
 * test moves the clock past its `nextAttemptAt`, so the schedule is asserted, not waited for.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import { createLogger } from '../platform/logger';
import type { TokenSource } from '../auth/token-source';
import { createCatalogResolver, createOrderPaidClient } from './order-paid-client';
import { createDeadLetterStore } from './dead-letters';
import { createInboxStore, type InboxStore } from './inbox';
import { createInboxWorker } from './inbox-worker';
import { parseOrderPayload } from './order';
import { completeOrder, subscriptionPayload } from './saleor-dev';
import { createProvisioner, delayAfter, DEFAULT_SCHEDULE, type Provisioner } from './service';
import { type FakeControlPlane, startFakeControlPlane } from './testing';

const log = createLogger({ level: 'silent' });
const OV = 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M';
const SHOP = 'https://shop.example.com/graphql/';

let db: TestDb;
let cp: FakeControlPlane;
let tokensIssued: number;
let clock: number;
let inbox: InboxStore;
let provisioner: Provisioner;

const tokens: TokenSource = {
  async token() {
    tokensIssued++;
    return `token-${tokensIssued}`;
  },
  invalidate() {},
};
const now = () => new Date(clock);

before(async () => {
  db = await openTestDb();
});
after(async () => {
  await cp?.close();
  await db?.close();
});
beforeEach(async () => {
  await cp?.close();
  cp = await startFakeControlPlane();
  tokensIssued = 0;
  clock = Date.parse('2030-01-01T00:00:00Z') + Math.floor(Math.random() * 1e9);
  await db.db('provisioner_inbox').delete();
  inbox = createInboxStore(db.db, now);
  provisioner = createProvisioner({
    client: createOrderPaidClient({ baseUrl: () => cp.url, tokens }),
    catalog: createCatalogResolver({ baseUrl: () => cp.url }),
    deadLetters: createDeadLetterStore(db.db, now),
    inbox,
    now,
  });
});

const order = (lines: Parameters<typeof completeOrder>[0]['lines'], id?: string) =>
  parseOrderPayload(subscriptionPayload(completeOrder({ id, email: 'ada@example.com', lines })));

async function hold(o: ReturnType<typeof order>, saleorApiUrl = SHOP, requestId = 'req-webhook-1') {
  return (await inbox.receive({ saleorApiUrl, order: o, signedWith: 'jws', jwsHeader: 'crit', requestId })).message;
}

/** Runs every due round once (as the worker does) and answers how many ran. */
async function rounds(): Promise<number> {
  const due = await inbox.claimDue(50, 60_000);
  for (const record of due) await inbox.afterRound(record.id, await provisioner.deliverRound(record, { log }));
  return due.length;
}

/** Moves the clock to the next due round of `id` and runs it; answers the delay waited (ms). */
async function nextRound(id: string): Promise<number> {
  const m = (await inbox.get(id))!;
  assert.ok(m.nextAttemptAt, `inbox message ${id} is ${m.status}, no round is due`);
  const wait = Date.parse(m.nextAttemptAt) - clock;
  clock = Math.max(clock, Date.parse(m.nextAttemptAt));
  assert.equal(await rounds(), 1);
  return wait;
}

describe('the inbox delivers held orders to the Control Plane', () => {
  test('a held order: one round, every line sent once with its key, the webhook\'s request id and a service token → delivered', async () => {
    const o = order([{ sku: 'credits:500', quantity: 2 }, { sku: 'x', metadata: { offeringVersionId: OV, planId: 'pro' } }]);
    const held = await hold(o, SHOP, 'req-propagated-42');
    assert.equal(held.status, 'queued');
    assert.equal(await rounds(), 1);
    const m = (await inbox.get(held.id))!;
    assert.equal(m.status, 'delivered');
    assert.deepEqual(m.lines.map((l) => [l.outcome, l.attempts, l.cpStatus]), [['accepted', 1, 201], ['accepted', 1, 201]]);
    assert.equal(m.nextAttemptAt, null);
    const calls = cp.orderPaidCalls();
    assert.equal(calls.length, 2);
    assert.deepEqual(new Set(calls.map((c) => c.idempotencyKey)), new Set(o.lines.map((l) => `saleor:be19169711b16065:${o.id}:${l.id}`)));
    for (const c of calls) {
      assert.equal(c.requestId, 'req-propagated-42');
      assert.equal(c.body.saleorApiUrl, SHOP);
      assert.match(c.authorization ?? '', /^Bearer token-\d$/);
    }
    assert.equal(await rounds(), 0, 'a delivered order is not delivered again');
  });

  test('502 twice then success: three rounds 1 s and 2 s apart, accepted, nothing dead-lettered', async () => {
    cp.failNext(502, 502);
    const o = order([{ sku: 'credits:100' }]);
    const held = await hold(o);
    assert.equal(await rounds(), 1);
    assert.equal(await nextRound(held.id), 1000);
    assert.equal(await nextRound(held.id), 2000);
    const m = (await inbox.get(held.id))!;
    assert.equal(m.status, 'delivered');
    assert.equal(m.lines[0]!.attempts, 3);
    assert.equal(m.attempts, 3);
    assert.equal(cp.orderPaidCalls().length, 3);
    assert.equal((await provisioner.deadLetters.list({ orderId: o.id, limit: 10 })).items.length, 0);
  });

  test('Control Plane down for a long time: a pending dead letter after 6 calls (1, 2, 4, 8, 16 s), rounds go on (32, 64… s), the order is applied once it is back and the dead letter resolved', async () => {
    cp.down = true;
    const o = order([{ sku: 'credits:500', quantity: 2 }]);
    const held = await hold(o);
    await rounds();
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) waits.push(await nextRound(held.id));
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000]);
    let m = (await inbox.get(held.id))!;
    assert.equal(m.status, 'queued', 'still being delivered');
    assert.equal(m.lines[0]!.deadLetterStatus, 'pending');
    assert.equal(m.lastError?.code, 'CONTROL_PLANE_UNAVAILABLE');
    const dl = (await provisioner.deadLetters.get(m.lines[0]!.deadLetterId!))!;
    assert.equal(dl.status, 'pending');
    assert.equal(dl.attempts, 6);
    assert.equal(dl.idempotencyKey, `saleor:be19169711b16065:${o.id}:${o.lines[0]!.id}`);
    assert.equal(dl.request?.creditsAmount, 500);
    assert.doesNotMatch(JSON.stringify(dl), /Bearer|token-|signature/i, 'no credentials in a dead letter');

    assert.equal(await nextRound(held.id), 32_000);
    assert.equal(await nextRound(held.id), 64_000);
    cp.down = false;
    assert.equal(await nextRound(held.id), 128_000);
    m = (await inbox.get(held.id))!;
    assert.equal(m.status, 'delivered');
    assert.deepEqual([m.lines[0]!.outcome, m.lines[0]!.attempts, m.lines[0]!.deadLetterStatus], ['accepted', 9, 'replayed']);
    const resolved = (await provisioner.deadLetters.get(dl.id))!;
    assert.equal(resolved.status, 'replayed');
    assert.equal(resolved.attempts, 9);
    assert.equal(m.lines[0]!.replayed, false, 'the first call that reached a live Control Plane applied it');
    assert.deepEqual(new Set(cp.orderPaidCalls().map((c) => c.idempotencyKey)), new Set([dl.idempotencyKey]), 'every call carried the one key');
    await assert.rejects(provisioner.replay(dl.id, { requestId: 'req-replay', log }), { code: 'CONFLICT' });
  });

  test('the rounds stop at the retry horizon; the pending dead letter stays for an operator, whose replay applies it once', async () => {
    cp.down = true;
    const o = order([{ sku: 'credits:5' }]);
    const held = await hold(o);
    await rounds();
    clock += DEFAULT_SCHEDULE.retryHorizonMs;
    await rounds();
    const m = (await inbox.get(held.id))!;
    assert.equal(m.status, 'dead_lettered');
    assert.equal(m.lines[0]!.outcome, 'dead_lettered');
    assert.equal(m.lines[0]!.deadLetterStatus, 'pending');
    cp.down = false;
    const replayed = await provisioner.replay(m.lines[0]!.deadLetterId!, { requestId: 'req-replay', log });
    assert.equal(replayed.status, 'replayed');
    assert.equal(replayed.attempts, 3);
    assert.equal(cp.orderPaidCalls().at(-1)!.idempotencyKey, m.lines[0]!.idempotencyKey);
  });

  test('409 IDEMPOTENCY_PAYLOAD_MISMATCH and 422 are final: one call, a failed dead letter, the order dead_lettered', async () => {
    cp.failNext({ status: 409, code: 'IDEMPOTENCY_PAYLOAD_MISMATCH' }, { status: 422, code: 'UNPROCESSABLE' });
    for (const code of ['IDEMPOTENCY_PAYLOAD_MISMATCH', 'UNPROCESSABLE']) {
      const held = await hold(order([{ sku: 'credits:5' }]));
      await rounds();
      const m = (await inbox.get(held.id))!;
      assert.equal(m.status, 'dead_lettered', code);
      assert.deepEqual([m.lines[0]!.attempts, m.lines[0]!.deadLetterStatus], [1, 'failed'], code);
      assert.equal((await provisioner.deadLetters.get(m.lines[0]!.deadLetterId!))!.lastError.code, code);
    }
    assert.equal(await rounds(), 0);
  });

  test('409 IDEMPOTENCY_IN_PROGRESS and 503 are retried in later rounds', async () => {
    cp.failNext({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS' }, 503);
    const held = await hold(order([{ sku: 'credits:6' }]));
    await rounds();
    await nextRound(held.id);
    await nextRound(held.id);
    const m = (await inbox.get(held.id))!;
    assert.deepEqual([m.status, m.lines[0]!.attempts], ['delivered', 3]);
  });

  test('a 401 drops the cached token and is tried again at once with a new one', async () => {
    cp.failNext({ status: 401, code: 'UNAUTHENTICATED' });
    const held = await hold(order([{ sku: 'credits:7' }]));
    await rounds();
    assert.equal((await inbox.get(held.id))!.status, 'delivered');
    const [first, second] = cp.orderPaidCalls();
    assert.notEqual(first!.authorization, second!.authorization);
  });

  test('one line refused for good does not hold back the others: each line has its own outcome', async () => {
    const held = await hold(order([{ sku: 'credits:8' }, { sku: 'new-agent:pro' }]));
    await rounds();
    const m = (await inbox.get(held.id))!;
    assert.equal(m.status, 'dead_lettered');
    assert.deepEqual(m.lines.map((l) => [l.outcome, l.kind]), [['accepted', 'credit_pack'], ['dead_lettered', null]]);
  });

  test('a line that cannot be mapped is a failed dead letter without a request; replay maps it again', async () => {
    const o = order([{ sku: 'new-agent:pro' }]);
    const held = await hold(o);
    await rounds();
    const line = (await inbox.get(held.id))!.lines[0]!;
    const dl = (await provisioner.deadLetters.get(line.deadLetterId!))!;
    assert.equal(dl.request, null);
    assert.match(dl.lastError.message, /No published offering with the slug "new-agent"/);
    assert.equal(cp.orderPaidCalls().length, 0);

    cp.offerings.push({ slug: 'new-agent', publishedVersionId: OV, lifecycle: 'published', plans: [{ id: 'starter' }, { id: 'pro' }] });
    const replayed = await provisioner.replay(dl.id, { requestId: 'req-r', log });
    assert.equal(replayed.status, 'replayed');
    assert.equal(replayed.request?.offeringVersionId, OV);
    assert.equal(replayed.request?.saleorApiUrl, SHOP);
    assert.equal(replayed.kind, 'instance');
  });

  test('a redelivered webhook of a held order changes nothing but the delivery count', async () => {
    const o = order([{ sku: 'credits:50' }]);
    const first = await inbox.receive({ saleorApiUrl: SHOP, order: o, signedWith: 'jws', jwsHeader: 'no-crit', requestId: 'r1' });
    await rounds();
    const again = await inbox.receive({ saleorApiUrl: SHOP, order: o, signedWith: 'jws', jwsHeader: 'no-crit', requestId: 'r2' });
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true);
    assert.equal(again.message.id, first.message.id);
    assert.equal(again.message.deliveries, 2);
    assert.equal(again.message.status, 'delivered');
    assert.equal(await rounds(), 0);
    assert.equal(cp.orderPaidCalls().length, 1);
  });
});

describe('two Saleor instances sending the same order and line ids', () => {
  test('are two held orders with two keys, both applied; their dead letters are apart too', async () => {
    const OTHER = 'https://other-shop.example.com/graphql/';
    const orderId = Buffer.from('Order:6d1e7c1e-0f3c-4b8a-9f55-2d7c0f0d1a11').toString('base64');
    const lineId = Buffer.from('OrderLine:1b2c3d4e-0000-4000-8000-000000000001').toString('base64');
    const a = parseOrderPayload(subscriptionPayload(completeOrder({ id: orderId, email: 'ada@example.com', lines: [{ id: lineId, sku: 'credits:10' }] })));
    const b = parseOrderPayload(subscriptionPayload(completeOrder({ id: orderId, email: 'bob@example.com', lines: [{ id: lineId, sku: 'credits:20' }] })));
    cp.failNext({ status: 422, code: 'UNPROCESSABLE' }, { status: 422, code: 'UNPROCESSABLE' });
    const ha = await hold(a, SHOP);
    const hb = await hold(b, OTHER);
    assert.notEqual(ha.id, hb.id, 'not a duplicate of each other');
    await rounds();
    const calls = cp.orderPaidCalls();
    assert.equal(new Set(calls.map((c) => c.idempotencyKey)).size, 2);
    const dls = (await provisioner.deadLetters.list({ orderId, limit: 10 })).items;
    assert.deepEqual(dls.map((d) => d.saleorApiUrl).sort(), [OTHER, SHOP].sort());
    // Both are replayed on their own: different keys, different buyers.
    for (const d of dls) assert.equal((await provisioner.replay(d.id, { requestId: 'r', log })).status, 'replayed');
    const applied = cp.orderPaidCalls().slice(2);
    assert.deepEqual(applied.map((c) => [c.body.saleorApiUrl, c.body.buyer.email, c.body.creditsAmount]).sort(), [[OTHER, 'bob@example.com', 20], [SHOP, 'ada@example.com', 10]].sort());
  });
});

describe('inbox leases and the worker', () => {
  test('concurrent claims never hand one order to two workers; an expired lease (a crashed worker) is claimed again', async () => {
    for (let i = 0; i < 6; i++) await hold(order([{ sku: `credits:${i + 1}` }]));
    const [x, y, z] = await Promise.all([inbox.claimDue(3, 60_000), inbox.claimDue(3, 60_000), inbox.claimDue(3, 60_000)]);
    const ids = [...x!, ...y!, ...z!].map((r) => r.id);
    assert.equal(ids.length, 6);
    assert.equal(new Set(ids).size, 6);
    assert.equal((await inbox.claimDue(10, 60_000)).length, 0, 'all leased');
    clock += 60_000;
    assert.equal((await inbox.claimDue(10, 60_000)).length, 6, 'the leases ran out');
  });

  test('the worker delivers what is held when kicked, and gives its leases back when stopped mid-round', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    const worker = createInboxWorker({
      inbox,
      deliverRound: async (record, ctx) => {
        seen.push(record.id);
        if (seen.length === 1) await Promise.race([gate, new Promise((r) => ctx.signal?.addEventListener('abort', r))]);
        return provisioner.deliverRound(record, ctx);
      },
      log,
      pollMs: 60_000,
    });
    const held = await hold(order([{ sku: 'credits:9' }]));
    worker.start();
    worker.kick();
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    await worker.stop(); // aborts the round in flight
    const m = (await inbox.get(held.id))!;
    assert.equal(m.status, 'queued');
    assert.equal(m.lines[0]!.attempts, 0, 'the interrupted call is not counted');
    assert.equal((await inbox.claimDue(10, 60_000)).length, 1, 'claimable at once by the next worker');
    release();
  });

  test('the round schedule: 1, 2, 4, 8, 16 s, then doubling up to the maximum', () => {
    const s = { ...DEFAULT_SCHEDULE, maxDelayMs: 300_000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20].map((n) => delayAfter(n, s)), [1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000]);
  });

  test('held orders list newest first, filtered by status, with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await hold(order([{ sku: `credits:${i + 1}` }]))).id);
      clock += 1;
    }
    const page1 = await inbox.list({ status: 'queued', limit: 2 });
    assert.deepEqual(page1.items.map((m) => m.id), [ids[2], ids[1]]);
    const page2 = await inbox.list({ status: 'queued', limit: 2, cursor: page1.nextCursor! });
    assert.deepEqual(page2.items.map((m) => m.id), [ids[0]]);
    assert.equal(page2.nextCursor, null);
  });
});
