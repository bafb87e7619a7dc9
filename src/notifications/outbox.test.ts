/**
 * The outbox: enqueue joins the caller's transaction (a rollback leaves no notification), the
 * dedupe key makes a repeated enqueue a no-op, failed attempts are retried after an exponential
 * backoff with jitter and dead-lettered after the last attempt, and two workers claiming the same
 * rows (FOR UPDATE SKIP LOCKED + lease) deliver each row exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOrg, manualClock } from '../../test/support/money';
import { openTestDb, type TestDb } from '../../test/support/db';
import { createLogger } from '../platform/logger';
import { backoffMs, claimDue, enqueueNotification, listDeliveries, notifyOrg, type OutboxRow } from './outbox';
import { createNotificationWorker, type ChannelDeliver } from './worker';

const log = createLogger({ level: 'silent' });

describe('notification outbox', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  it('writes in the caller\'s transaction: a rolled-back fact leaves no notification; the dedupe key makes a repeat a no-op', async () => {
    const { orgId } = await createOrg(t.db);
    await assert.rejects(
      t.db.transaction(async (trx) => {
        await enqueueNotification(trx, { orgId, kind: 'test.rolled_back', channel: 'webhook', data: {} });
        throw new Error('the fact failed');
      }),
      /the fact failed/,
    );
    assert.equal((await listDeliveries(t.db, orgId, { limit: 10 })).items.length, 0);
    const first = await enqueueNotification(t.db, { orgId, kind: 'test.once', channel: 'webhook', data: { n: 1 }, dedupeKey: 'once-1' });
    const again = await enqueueNotification(t.db, { orgId, kind: 'test.once', channel: 'webhook', data: { n: 2 }, dedupeKey: 'once-1' });
    assert.ok(first);
    assert.equal(again, undefined);
    const items = (await listDeliveries(t.db, orgId, { limit: 10 })).items;
    assert.deepEqual(items.map((i) => [i.kind, i.data.n, i.status]), [['test.once', 1, 'pending']]);
  });

  it('notifyOrg writes one row per configured channel, nothing for an org without an endpoint, e-mail to verified admins only', async () => {
    const quiet = await createOrg(t.db);
    assert.deepEqual(await notifyOrg(t.db, { orgId: quiet.orgId, kind: 'wallet.low_balance', data: {} }), []);
    const { orgId } = await createOrg(t.db);
    await t.db('users').insert([
      { id: 'u-admin', email: 'Admin@Example.com', email_verified: true },
      { id: 'u-unverified', email: 'unverified@example.com', email_verified: false },
      { id: 'u-member', email: 'member@example.com', email_verified: true },
    ]);
    await t.db('memberships').insert([
      { org_id: orgId, user_id: 'u-admin', role: 'admin' },
      { org_id: orgId, user_id: 'u-unverified', role: 'owner' },
      { org_id: orgId, user_id: 'u-member', role: 'member' },
    ]);
    const now = new Date();
    await t.db('notification_endpoints').insert({ org_id: orgId, url: 'https://hooks.example.com/x', email: 'ops@example.com', email_admins: true, created_at: now, updated_at: now });
    const ids = await notifyOrg(t.db, { orgId, kind: 'wallet.low_balance', data: { balance: 5 } });
    assert.equal(ids.length, 2);
    const rows: OutboxRow[] = await t.db('notification_outbox').whereIn('id', ids).orderBy('channel');
    assert.deepEqual(rows.map((r) => [r.channel, r.recipients]), [['email', ['ops@example.com', 'admin@example.com']], ['webhook', null]]);
  });

  it('backoff doubles per attempt within its jitter band and stops at the cap', () => {
    assert.equal(backoffMs(1, 1000, 60_000, () => 0), 500);
    assert.equal(backoffMs(1, 1000, 60_000, () => 1), 1000);
    assert.equal(backoffMs(3, 1000, 60_000, () => 0), 2000);
    assert.equal(backoffMs(3, 1000, 60_000, () => 1), 4000);
    assert.equal(backoffMs(20, 1000, 60_000, () => 1), 60_000);
    const seen = new Set(Array.from({ length: 20 }, () => backoffMs(4, 1000, 60_000)));
    assert.ok(seen.size > 1, 'jittered');
    for (const d of seen) assert.ok(d >= 4000 && d <= 8000, String(d));
  });

  it('retries a failing row after its backoff, then dead-letters it after the last attempt', async () => {
    const { orgId } = await createOrg(t.db);
    const clock = manualClock(new Date(Date.now() + 86_400_000));
    const id = (await enqueueNotification(t.db, { orgId, kind: 'test.failing', channel: 'webhook', data: {}, at: clock.now() }))!;
    let calls = 0;
    const failing: ChannelDeliver = async (row) => {
      if (row.id !== id) return { ok: true, status: 200 }; // rows of the other tests
      calls++;
      return { ok: false, status: 500, error: 'HTTP 500' };
    };
    const worker = createNotificationWorker({ db: t.db, log, channels: { webhook: failing, email: failing }, pollMs: 10, maxAttempts: 3, retryBaseMs: 1000, retryMaxMs: 10_000, now: clock.now, random: () => 1 });
    const row = async () => (await t.db('notification_outbox').where({ id }).first()) as OutboxRow;

    await worker.runOnce();
    assert.equal(calls, 1);
    let r = await row();
    assert.deepEqual([r.attempts, r.dead, r.delivered_at, r.last_status, r.last_error], [1, false, null, 500, 'HTTP 500']);
    assert.equal(new Date(r.next_attempt_at).getTime() - clock.now().getTime(), 1000, 'first retry after the base delay');

    await worker.runOnce();
    assert.equal(calls, 1, 'not due yet: not tried again');
    clock.advance(1);
    await worker.runOnce();
    r = await row();
    assert.equal(r.attempts, 2);
    assert.equal(new Date(r.next_attempt_at).getTime() - clock.now().getTime(), 2000, 'the delay doubles');

    clock.advance(2);
    await worker.runOnce();
    r = await row();
    assert.deepEqual([r.attempts, r.dead, r.delivered_at], [3, true, null]);
    clock.advance(3600);
    await worker.runOnce();
    assert.equal(calls, 3, 'a dead letter is never tried again');
    const listed = (await listDeliveries(t.db, orgId, { limit: 5 })).items[0]!;
    assert.deepEqual([listed.status, listed.attempts, listed.nextAttemptAt], ['dead', 3, null]);
  });

  it('a permanent failure dead-letters at once; a success records the delivery', async () => {
    const { orgId } = await createOrg(t.db);
    const clock = manualClock(new Date(Date.now() + 2 * 86_400_000));
    const gone = (await enqueueNotification(t.db, { orgId, kind: 'test.gone', channel: 'webhook', data: {}, at: clock.now() }))!;
    const ok = (await enqueueNotification(t.db, { orgId, kind: 'test.ok', channel: 'email', recipients: ['a@example.com'], data: {}, at: clock.now() }))!;
    const worker = createNotificationWorker({
      db: t.db, log, pollMs: 10, maxAttempts: 5, retryBaseMs: 1000, retryMaxMs: 10_000, now: clock.now,
      channels: { webhook: async () => ({ ok: false, permanent: true, error: 'endpoint_removed' }), email: async () => ({ ok: true, status: 250 }) },
    });
    await worker.runOnce();
    const byId = new Map((await t.db('notification_outbox').whereIn('id', [gone, ok])).map((r: OutboxRow) => [r.id, r]));
    assert.deepEqual([byId.get(gone)!.dead, byId.get(gone)!.attempts, byId.get(gone)!.last_error], [true, 1, 'endpoint_removed']);
    assert.ok(byId.get(ok)!.delivered_at);
    assert.equal(byId.get(ok)!.dead, false);
  });

  it('two workers claiming at the same time deliver every row exactly once', async () => {
    const { orgId } = await createOrg(t.db);
    const clock = manualClock(new Date(Date.now() + 3 * 86_400_000));
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await enqueueNotification(t.db, { orgId, kind: 'test.race', channel: 'webhook', data: { i }, at: clock.now() }))!);
    const delivered = new Map<string, number>();
    const channel: ChannelDeliver = async (row) => {
      if (!ids.includes(row.id)) return { ok: true, status: 200 };
      delivered.set(row.id, (delivered.get(row.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 2));
      return { ok: true, status: 200 };
    };
    const mk = () => createNotificationWorker({ db: t.db, log, channels: { webhook: channel, email: channel }, pollMs: 10, maxAttempts: 3, retryBaseMs: 1000, retryMaxMs: 1000, batch: 7, now: clock.now });
    const a = mk();
    const b = mk();
    const drain = async (w: ReturnType<typeof mk>) => {
      let n = 0;
      while ((n = await w.runOnce()) > 0) void n;
    };
    await Promise.all([drain(a), drain(b), drain(a), drain(b)]);
    assert.equal(delivered.size, 40);
    assert.ok([...delivered.values()].every((n) => n === 1), 'no row delivered twice');
    const left = await claimDue(t.db, 100, 1000, clock.now());
    assert.equal(left.filter((r) => ids.includes(r.id)).length, 0);
    const rows: OutboxRow[] = await t.db('notification_outbox').whereIn('id', ids);
    assert.ok(rows.every((r) => r.delivered_at && r.attempts === 1));
  });
});
