/**
 * Concurrent callers on one wallet serialize on its row lock: holds never exceed the balance,
 * concurrent settles of one reservation debit it once, and racing settle/void resolve it once.
 * (Real contention on PostgreSQL; on PGlite the single connection serializes them anyway.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDb, type TestDb } from '../../test/support/db';
import { walletWith } from '../../test/support/money';
import { AppError } from '../platform/errors';
import { authorize, settle, voidReservation } from './billing';
import { getWallet, topUp } from './wallets';

describe('concurrent authorizes never overspend', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  it('grants exactly balance/amount of 60 concurrent holds and refuses the rest with INSUFFICIENT_CREDITS', async () => {
    const w = await walletWith(t.db, { starterCredits: 100 });
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => authorize(t.db, { walletId: w.id, amount: 10 })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected' && (r.reason as AppError).code === 'INSUFFICIENT_CREDITS').length;
    assert.equal(ok, 10);
    assert.equal(refused, 50);
    const after = await getWallet(t.db, w.id);
    assert.deepEqual([after.balance, after.reserved, after.available], [100, 100, 0]);
  });

  it('debits once when 20 identical settles race, and every one answers the same ledgerEntryId', async () => {
    const w = await walletWith(t.db, { starterCredits: 100 });
    const a = await authorize(t.db, { walletId: w.id, amount: 30 });
    const results = await Promise.all(Array.from({ length: 20 }, () => settle(t.db, { reservationId: a.reservation.id, credits: 25 })));
    assert.equal(new Set(results.map((r) => r.ledgerEntryId)).size, 1);
    assert.equal(results.filter((r) => !r.replayed).length, 1);
    assert.equal((await getWallet(t.db, w.id)).balance, 75);
  });

  it('resolves a reservation once when settles and voids race', async () => {
    const w = await walletWith(t.db, { starterCredits: 100 });
    const a = await authorize(t.db, { walletId: w.id, amount: 30 });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 ? settle(t.db, { reservationId: a.reservation.id, credits: 30 }) : voidReservation(t.db, { reservationId: a.reservation.id }),
      ),
    );
    const settled = results.filter((r) => r.status === 'fulfilled' && 'charged' in r.value);
    const voided = results.filter((r) => r.status === 'fulfilled' && 'reservation' in r.value);
    const conflicts = results.filter((r) => r.status === 'rejected' && (r.reason as AppError).code === 'RESERVATION_ALREADY_RESOLVED');
    assert.equal(settled.length + voided.length + conflicts.length, 20);
    assert.ok(settled.length === 0 || voided.length === 0, 'both a settle and a void succeeded');
    const after = await getWallet(t.db, w.id);
    assert.equal(after.reserved, 0);
    assert.equal(after.balance, settled.length ? 70 : 100);
  });

  it('keeps balance = sum(ledger) with top-ups, authorizes and settles racing on one wallet', async () => {
    const w = await walletWith(t.db, { starterCredits: 50 });
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      work.push(topUp(t.db, { walletId: w.id, amount: 5, creditType: i % 3 ? 'paid' : 'granted' }));
      work.push(
        authorize(t.db, { walletId: w.id, amount: 7 })
          .then((a) => settle(t.db, { reservationId: a.reservation.id, credits: 1 + (i % 9) }))
          .catch((e: unknown) => {
            if ((e as AppError).code !== 'INSUFFICIENT_CREDITS') throw e;
          }),
      );
    }
    await Promise.all(work);
    const wallet = await getWallet(t.db, w.id);
    const [sums] = (
      await t.db.raw(
        `select sum(amount) as s, sum(amount) filter (where credit_type = 'paid') as p, count(*) as n, max(seq) as m
           from ledger_entries where wallet_id = ?`,
        [w.id],
      )
    ).rows;
    assert.equal(wallet.balance, Number(sums.s));
    assert.equal(wallet.paidBalance, Number(sums.p));
    assert.equal(sums.n, sums.m);
    assert.equal(wallet.reserved, 0);
  });
});
