/**
 * The per-wallet batcher (wallet-batch.ts): concurrent jobs of one wallet share transactions with
 * the answers they would get alone; their audit events are appended per batch and the chain
 * stays valid; a failing job fails alone; a job past its deadline never commits and its
 * neighbours still do; a wallet locked elsewhere answers its queue WALLET_BUSY while other
 * wallets keep running. Row locks and a real pool need PostgreSQL (TEST_DATABASE_URL) for the
 * concurrency cases; on PGlite they run on its one connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import { codeOf, walletWith } from '../../test/support/money';
import { verifyChain } from '../audit/verify';
import { AppError } from '../platform/errors';
import { authorize, getReservation, settle } from './billing';
import { WalletBatcher } from './wallet-batch';
import { getWallet } from './wallets';

describe('wallet batches share transactions', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  const audited = (orgId: string, reservationId: string) => ({
    orgId, action: 'billing.settled', resourceType: 'reservation', resourceId: reservationId, actor: { type: 'service' as const, id: 'test' }, data: { reservationId },
  });

  it('many settles of one wallet: fewer transactions than calls, every charge exact, one audit event each, the chain valid', async () => {
    const batcher = new WalletBatcher();
    const w = await walletWith(t.db, { starterCredits: 10_000 });
    const holds = await Promise.all(Array.from({ length: 40 }, () => authorize(t.db, { walletId: w.id, amount: 10 })));
    const answers = await Promise.all(holds.map((a, i) => batcher.run(t.db, w.id, {}, async (trx, batch) => {
      const s = await settle(trx, { reservationId: a.reservation.id, credits: 1 + (i % 5) });
      batch.audit(audited(w.orgId, a.reservation.id));
      return s;
    })));
    const expected = holds.reduce((n, _, i) => n + 1 + (i % 5), 0);
    assert.equal(answers.reduce((n, s) => n + s.charged, 0), expected);
    const after = await getWallet(t.db, w.id);
    assert.equal(after.balance, 10_000 - expected);
    assert.equal(after.reserved, 0);
    assert.ok(batcher.stats.batches < 40, `40 calls in ${batcher.stats.batches} transactions`);
    const report = await verifyChain(t.db, w.orgId);
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.checkedCount, 40);
  });

  it('a job that throws fails alone: its neighbours in the same batch commit', async () => {
    const batcher = new WalletBatcher();
    const w = await walletWith(t.db, { starterCredits: 1000 });
    const holds = await Promise.all(Array.from({ length: 10 }, () => authorize(t.db, { walletId: w.id, amount: 10 })));
    const results = await Promise.allSettled(holds.map((a, i) => batcher.run(t.db, w.id, {}, async (trx) => {
      const s = await settle(trx, { reservationId: a.reservation.id, credits: 5 });
      if (i === 3) throw new AppError('UNPROCESSABLE', 'refused after its writes');
      return s;
    })));
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
    assert.equal((results[3] as PromiseRejectedResult).reason.code, 'UNPROCESSABLE');
    assert.equal((await getReservation(t.db, holds[3]!.reservation.id)).status, 'open', 'the failed job\'s writes rolled back');
    assert.equal((await getWallet(t.db, w.id)).balance, 1000 - 9 * 5);
  });

  it('a job whose caller\'s deadline passes before COMMIT never commits; the other jobs of its batch do', async () => {
    const batcher = new WalletBatcher();
    const w = await walletWith(t.db, { starterCredits: 1000 });
    const a = await authorize(t.db, { walletId: w.id, amount: 10 });
    const b = await authorize(t.db, { walletId: w.id, amount: 10 });
    const late = batcher.run(t.db, w.id, { deadline: Date.now() + 100 }, async (trx) => {
      const s = await settle(trx, { reservationId: a.reservation.id, credits: 7 });
      await new Promise((r) => setTimeout(r, 250));
      return s;
    });
    const onTime = batcher.run(t.db, w.id, { deadline: Date.now() + 5000 }, (trx) => settle(trx, { reservationId: b.reservation.id, credits: 3 }));
    assert.equal(await codeOf(() => late), 'WALLET_BUSY');
    assert.equal((await onTime).charged, 3);
    assert.equal((await getReservation(t.db, a.reservation.id)).status, 'open', 'nothing committed for the caller that left');
    assert.equal((await getWallet(t.db, w.id)).balance, 997);
  });

  it('a wallet locked elsewhere answers its queue WALLET_BUSY within the lock bound; other wallets keep running (PostgreSQL)', async (ctx) => {
    if (t.engine !== 'postgres') return ctx.skip('needs real row locks: run with TEST_DATABASE_URL');
    const batcher = new WalletBatcher();
    const stuck = await walletWith(t.db, { starterCredits: 1000 });
    const other = await walletWith(t.db, { starterCredits: 1000 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const locker = t.db.transaction(async (trx) => {
      await trx.raw('select id from wallets where id = ? for update', [stuck.id]);
      await held;
    });
    await new Promise((r) => setTimeout(r, 50));
    try {
      const t0 = performance.now();
      const storm = Array.from({ length: 30 }, () => codeOf(() => batcher.run(t.db, stuck.id, { deadline: Date.now() + 4000 }, (trx) => authorize(trx, { walletId: stuck.id, amount: 5 }))));
      const fine = await Promise.all(Array.from({ length: 10 }, () => batcher.run(t.db, other.id, {}, (trx) => authorize(trx, { walletId: other.id, amount: 5 }))));
      assert.equal(fine.length, 10);
      const codes = await Promise.all(storm);
      assert.ok(codes.every((c) => c === 'WALLET_BUSY'), codes.join(','));
      ctx.diagnostic(`30 callers of the locked wallet answered in ${Math.round(performance.now() - t0)} ms`);
    } finally {
      release();
      await locker;
    }
    assert.equal((await getWallet(t.db, stuck.id)).reserved, 0, 'nothing of the storm committed');
    assert.equal((await getWallet(t.db, other.id)).reserved, 50);
  });
});
