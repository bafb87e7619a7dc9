/**
 * BillingEngine coalesces concurrent calls into shared transactions with the same answers as
 * the single-operation functions; one failing call does not fail its batch neighbours.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDb, type TestDb } from '../../test/support/db';
import { walletWith } from '../../test/support/money';
import { AppError } from '../platform/errors';
import { BillingEngine } from './engine';
import { getWallet, history } from './wallets';
import { checkInvariants } from '../../test/money/simulation';

describe('BillingEngine batches concurrent calls', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  it('grants exactly what fits out of 80 concurrent authorizes on one wallet, in fewer transactions than calls', async () => {
    const engine = new BillingEngine(t.db, {}, { maxInFlight: 2 });
    const w = await walletWith(t.db, { starterCredits: 300 });
    const results = await Promise.allSettled(
      Array.from({ length: 80 }, (_, i) => engine.authorize({ walletId: w.id, runId: `run_${i}`, amount: 10 })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 30);
    for (const r of results) {
      if (r.status === 'rejected') assert.equal((r.reason as AppError).code, 'INSUFFICIENT_CREDITS');
    }
    assert.ok(engine.stats.batches < 80, `expected batching, got ${engine.stats.batches} batches`);
    const wallet = await getWallet(t.db, w.id);
    assert.deepEqual([wallet.reserved, wallet.available], [300, 0]);
  });

  it('settles, replays and voids with the same answers as the direct path', async () => {
    const engine = new BillingEngine(t.db);
    const w = await walletWith(t.db, { starterCredits: 100 });
    const holds = await Promise.all(Array.from({ length: 6 }, (_, i) => engine.authorize({ walletId: w.id, runId: `r${i}`, amount: 10 })));
    // Two identical settles of the same reservation in flight at once, plus a void of another.
    const [s1, s2, v] = await Promise.all([
      engine.settle({ reservationId: holds[0].reservation.id, credits: 8 }),
      engine.settle({ reservationId: holds[0].reservation.id, credits: 8 }),
      engine.void({ reservationId: holds[1].reservation.id }),
    ]);
    assert.equal(s1.ledgerEntryId, s2.ledgerEntryId);
    assert.deepEqual([s1.replayed, s2.replayed].sort(), [false, true]);
    assert.equal(v.reservation.status, 'voided');
    await assert.rejects(engine.settle({ reservationId: holds[1].reservation.id, credits: 1 }), { code: 'RESERVATION_ALREADY_RESOLVED' });
    await assert.rejects(engine.void({ reservationId: holds[0].reservation.id }), { code: 'RESERVATION_ALREADY_RESOLVED' });
    await assert.rejects(engine.settle({ reservationId: 'rsv_missing', credits: 1 }), { code: 'NOT_FOUND' });
    const again = await engine.authorize({ walletId: w.id, runId: 'r2', amount: 10 });
    assert.equal(again.replayed, true);
    assert.equal(again.reservation.id, holds[2].reservation.id);
    const debits = (await history(t.db, { walletId: w.id })).items.filter((e) => e.kind === 'debit');
    assert.equal(debits.length, 1);
    assert.deepEqual(await checkInvariants(t.db), []);
  });

  it('re-runs a batch call by call when one call makes the database refuse it, so only that call fails', async () => {
    const engine = new BillingEngine(t.db, {}, { maxInFlight: 1 });
    const w = await walletWith(t.db, { starterCredits: 100 });
    const holds = await Promise.all(Array.from({ length: 4 }, () => engine.authorize({ walletId: w.id, amount: 5 })));
    const blocker = engine.authorize({ walletId: w.id, amount: 1 }); // occupies the only slot
    const results = await Promise.allSettled(
      holds.map((h, i) =>
        engine.settle({ reservationId: h.reservation.id, credits: 2, usage: i === 2 ? { bad: 'nul \u0000 byte' } : { ok: i } }),
      ),
    );
    await blocker;
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.ok(engine.stats.isolatedRetries >= 1);
    assert.equal((await getWallet(t.db, w.id)).balance, 94);
    assert.deepEqual(await checkInvariants(t.db), []);
  });
});
