/**
 * Bounded money transactions (bounds.ts), the "charged after uncharged" and "one stuck wallet
 * stops every tenant's billing" findings: a settle whose caller's deadline has passed never
 * commits; a wallet locked by someone else answers WALLET_BUSY within the lock bound instead of
 * waiting; at most `perWallet` transactions of one wallet hold connections, and other wallets keep
 * their latency while one is stuck (PostgreSQL: real row locks and a real pool; on PGlite the one
 * connection serializes everything, so the stall cases need TEST_DATABASE_URL).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import { codeOf, walletWith } from '../../test/support/money';
import { authorize, getReservation, settle } from './billing';
import { boundedTransaction, WalletGate } from './bounds';
import { getWallet } from './wallets';

describe('money transactions are bounded', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  it('never commits a settle once its caller\'s deadline has passed (WALLET_BUSY, nothing charged)', async () => {
    const w = await walletWith(t.db, { starterCredits: 100 });
    const a = await authorize(t.db, { walletId: w.id, amount: 10 });
    // The work finishes after the deadline: the transaction rolls back before COMMIT.
    const code = await codeOf(() => boundedTransaction(t.db, w.id, { deadline: Date.now() + 150 }, async (trx) => {
      const s = await settle(trx, { reservationId: a.reservation.id, credits: 7 });
      await new Promise((r) => setTimeout(r, 300));
      return s;
    }));
    assert.equal(code, 'WALLET_BUSY');
    assert.equal((await getReservation(t.db, a.reservation.id)).status, 'open', 'the settle did not commit');
    assert.equal((await getWallet(t.db, w.id)).balance, 100);
    // A deadline already past refuses at once, before any connection is taken.
    assert.equal(await codeOf(() => boundedTransaction(t.db, w.id, { deadline: Date.now() - 1 }, async () => 1)), 'WALLET_BUSY');
  });

  it('lets at most perWallet transactions of one wallet in at once; the others wait without a connection, or give up at their deadline', async () => {
    const gate = new WalletGate(2);
    const releases = await Promise.all([gate.acquire('wal_a', Date.now() + 1000), gate.acquire('wal_a', Date.now() + 1000)]);
    assert.equal(gate.active('wal_a'), 2);
    const other = await gate.acquire('wal_b', Date.now() + 1000);
    assert.equal(gate.active('wal_b'), 1, 'another wallet is not held up');
    const late = gate.acquire('wal_a', Date.now() + 50);
    await assert.rejects(late, (e: { code?: string }) => e.code === 'WALLET_BUSY');
    const waiting = gate.acquire('wal_a', Date.now() + 1000);
    releases[0]!();
    const third = await waiting;
    assert.equal(gate.active('wal_a'), 2);
    third();
    releases[1]!();
    other();
    assert.equal(gate.active('wal_a'), 0);
  });

  it('a wallet whose row lock is held elsewhere answers WALLET_BUSY within the lock bound, and other wallets keep their latency (PostgreSQL)', async (ctx) => {
    if (t.engine !== 'postgres') return ctx.skip('needs real row locks: run with TEST_DATABASE_URL');
    const stuck = await walletWith(t.db, { starterCredits: 1000 });
    const others = await Promise.all(Array.from({ length: 8 }, () => walletWith(t.db, { starterCredits: 1000 })));
    const pair = async (walletId: string) => {
      const t0 = performance.now();
      const a = await boundedTransaction(t.db, walletId, {}, (trx) => authorize(trx, { walletId, amount: 5 }));
      await boundedTransaction(t.db, walletId, {}, (trx) => settle(trx, { reservationId: a.reservation.id, credits: 3 }));
      return performance.now() - t0;
    };
    const measure = async () => (await Promise.all(others.map((w) => pair(w.id)))).sort((x, y) => x - y);
    const baseline = await measure();

    // Someone holds the stuck wallet's row lock (an admin's open transaction, a hung client).
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const locker = t.db.transaction(async (trx) => {
      await trx.raw('select id from wallets where id = ? for update', [stuck.id]);
      await held;
    });
    await new Promise((r) => setTimeout(r, 50));
    try {
      const t0 = performance.now();
      const storm = Array.from({ length: 30 }, () => codeOf(() => boundedTransaction(t.db, stuck.id, { deadline: Date.now() + 4000 }, (trx) => authorize(trx, { walletId: stuck.id, amount: 5 }))));
      const during = await measure();
      const codes = await Promise.all(storm);
      const stormMs = performance.now() - t0;
      assert.ok(codes.every((c) => c === 'WALLET_BUSY'), codes.join(','));
      assert.ok(stormMs < 10_000, `the stuck wallet's callers were answered (${Math.round(stormMs)} ms), not left waiting on the lock`);
      ctx.diagnostic(`other wallets' authorize+settle p50/max: baseline ${baseline[4]!.toFixed(1)}/${baseline.at(-1)!.toFixed(1)} ms, during the stall ${during[4]!.toFixed(1)}/${during.at(-1)!.toFixed(1)} ms`);
      // Not a timing assertion: the other wallets' transactions completed while 30 callers of the stuck one were refused.
      assert.equal(during.length, others.length);
    } finally {
      release();
      await locker;
    }
    assert.equal((await getWallet(t.db, stuck.id)).reserved, 0, 'nothing of the storm committed');
  });
});
