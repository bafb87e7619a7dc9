/**
 * T8: a settle retry returns the same ledgerEntryId and amounts; each reservation is resolved
 * exactly once (settle/void/expiry conflicts are typed); overage is charged up to the available
 * balance and flagged; granted credits are spent before paid ones.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDb, type TestDb } from '../../test/support/db';
import { codeOf, manualClock, walletWith } from '../../test/support/money';
import { authorize, expireReservations, getReservation, settle, voidReservation } from './billing';
import { getWallet, history, topUp } from './wallets';
import { startMoneySweepers } from './sweeper';

describe('settle is idempotent and every reservation resolves once', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  it('T8: repeating a settle returns the same ledgerEntryId and amounts, and debits once', async () => {
    const w = await walletWith(t.db, { starterCredits: 100 });
    const a = await authorize(t.db, { walletId: w.id, runId: 'run_t8', amount: 20 });
    const first = await settle(t.db, { reservationId: a.reservation.id, credits: 12, runId: 'run_t8', usage: { tokens: 1200 } });
    const again = await settle(t.db, { reservationId: a.reservation.id, credits: 12, runId: 'run_t8', usage: { tokens: 1200 } });
    const third = await settle(t.db, { reservationId: a.reservation.id, credits: 12 });
    assert.equal(first.replayed, false);
    assert.equal(again.replayed, true);
    for (const r of [again, third]) {
      assert.equal(r.ledgerEntryId, first.ledgerEntryId);
      assert.deepEqual(r.ledgerEntryIds, first.ledgerEntryIds);
      assert.equal(r.charged, 12);
      assert.equal(r.balanceAfter, 88);
      assert.equal(r.overage, false);
    }
    const debits = (await history(t.db, { walletId: w.id })).items.filter((e) => e.kind === 'debit');
    assert.equal(debits.length, 1);
    assert.equal((await getWallet(t.db, w.id)).balance, 88);
  });

  it('answers RESERVATION_ALREADY_RESOLVED to a settle with a different charge after the first', async () => {
    const w = await walletWith(t.db, { starterCredits: 100 });
    const a = await authorize(t.db, { walletId: w.id, amount: 20 });
    await settle(t.db, { reservationId: a.reservation.id, credits: 5 });
    assert.equal(await codeOf(() => settle(t.db, { reservationId: a.reservation.id, credits: 6 })), 'RESERVATION_ALREADY_RESOLVED');
  });

  it('answers RESERVATION_ALREADY_RESOLVED to settling a voided reservation, and to voiding a settled one', async () => {
    const w = await walletWith(t.db, { starterCredits: 100 });
    const v = await authorize(t.db, { walletId: w.id, amount: 20 });
    const voided = await voidReservation(t.db, { reservationId: v.reservation.id });
    assert.equal(voided.reservation.status, 'voided');
    assert.equal(voided.replayed, false);
    const again = await voidReservation(t.db, { reservationId: v.reservation.id });
    assert.equal(again.replayed, true);
    assert.equal(await codeOf(() => settle(t.db, { reservationId: v.reservation.id, credits: 1 })), 'RESERVATION_ALREADY_RESOLVED');

    const s = await authorize(t.db, { walletId: w.id, amount: 20 });
    await settle(t.db, { reservationId: s.reservation.id, credits: 3 });
    const err = await voidReservation(t.db, { reservationId: s.reservation.id }).catch((e: unknown) => e);
    assert.equal((err as { code: string }).code, 'RESERVATION_ALREADY_RESOLVED');
    assert.equal((err as { status: number }).status, 409);

    const after = await getWallet(t.db, w.id);
    assert.equal(after.balance, 97);
    assert.equal(after.reserved, 0);
    assert.equal(after.available, 97);
  });

  it('expires a reservation past its TTL: its budget comes back and a late settle answers RESERVATION_EXPIRED', async () => {
    const clock = manualClock();
    const deps = { clock: clock.now };
    const w = await walletWith(t.db, { starterCredits: 50 }, deps);
    const a = await authorize(t.db, { walletId: w.id, amount: 40, ttlSeconds: 60 }, deps);
    assert.equal((await getWallet(t.db, w.id, deps)).available, 10);
    clock.advance(61);
    const late = await settle(t.db, { reservationId: a.reservation.id, credits: 10 }, deps).catch((e: unknown) => e);
    assert.equal((late as { code: string }).code, 'RESERVATION_EXPIRED');
    assert.equal((late as { status: number }).status, 409);
    // The expiry was committed even though the settle failed.
    assert.equal((await getReservation(t.db, a.reservation.id)).status, 'expired');
    const wallet = await getWallet(t.db, w.id, deps);
    assert.equal(wallet.available, 50);
    assert.equal(wallet.balance, 50);
    // Settling it again keeps answering the same conflict; voiding an expired one reports it as is.
    assert.equal(await codeOf(() => settle(t.db, { reservationId: a.reservation.id, credits: 10 }, deps)), 'RESERVATION_EXPIRED');
    assert.equal((await voidReservation(t.db, { reservationId: a.reservation.id }, deps)).reservation.status, 'expired');
  });

  it('getWallet does not count expired holds, and the sweeper releases them exactly once', async () => {
    const clock = manualClock();
    const deps = { clock: clock.now };
    const w = await walletWith(t.db, { starterCredits: 100 }, deps);
    for (let i = 0; i < 3; i++) await authorize(t.db, { walletId: w.id, amount: 10, ttlSeconds: 30 }, deps);
    const keep = await authorize(t.db, { walletId: w.id, amount: 5, ttlSeconds: 300 }, deps);
    clock.advance(31);
    const swept = await expireReservations(t.db, {}, deps);
    assert.ok(swept.expired >= 3, `expected ≥3 expired, got ${swept.expired}`);
    const again = await expireReservations(t.db, {}, deps);
    assert.equal(again.expired, 0);
    const wallet = await getWallet(t.db, w.id, deps);
    assert.equal(wallet.reserved, 5);
    assert.equal(wallet.available, 95);
    assert.equal((await getReservation(t.db, keep.reservation.id)).status, 'open');
  });

  it('the background sweeper releases holds once they are past their TTL', async () => {
    const w = await walletWith(t.db, { starterCredits: 20 });
    const a = await authorize(t.db, { walletId: w.id, amount: 20, ttlSeconds: 1 });
    let swept = 0;
    const sweepers = startMoneySweepers(t.db, { reservationsEveryMs: 100, onSwept: (s) => (swept += s.count) });
    try {
      const deadline = Date.now() + 5000;
      while ((await getReservation(t.db, a.reservation.id)).status === 'open' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await sweepers.stop();
    }
    assert.equal((await getReservation(t.db, a.reservation.id)).status, 'expired');
    assert.ok(swept >= 1);
    const [{ reserved }] = (await t.db.raw('select reserved from wallets where id = ?', [w.id])).rows;
    assert.equal(reserved, 0);
  });

  it('authorize expires overdue holds lazily when they stand in the way', async () => {
    const clock = manualClock();
    const deps = { clock: clock.now };
    const w = await walletWith(t.db, { starterCredits: 10 }, deps);
    const old = await authorize(t.db, { walletId: w.id, amount: 10, ttlSeconds: 5 }, deps);
    assert.equal(await codeOf(() => authorize(t.db, { walletId: w.id, amount: 10 }, deps)), 'INSUFFICIENT_CREDITS');
    clock.advance(5);
    const fresh = await authorize(t.db, { walletId: w.id, amount: 10 }, deps);
    assert.equal(fresh.available, 0);
    assert.equal((await getReservation(t.db, old.reservation.id)).status, 'expired');
  });

  it('never charges more than the hold: huge usage on a 10-credit hold is charged 10 and flagged as overage', async () => {
    // The red-team reproduction: a runner reporting usage worth 5,000 credits on a 10-credit hold.
    const w = await walletWith(t.db, { starterCredits: 10_000 });
    const a = await authorize(t.db, { walletId: w.id, amount: 10 });
    const s = await settle(t.db, { reservationId: a.reservation.id, credits: 5_000 });
    assert.equal(s.requested, 5_000);
    assert.equal(s.charged, 10);
    assert.equal(s.overage, true);
    assert.equal((await getWallet(t.db, w.id)).balance, 9_990);
    // Below the hold the charge is the usage.
    const b = await authorize(t.db, { walletId: w.id, amount: 60 });
    const under = await settle(t.db, { reservationId: b.reservation.id, credits: 7 });
    assert.deepEqual([under.charged, under.overage], [7, false]);
    assert.equal((await getWallet(t.db, w.id)).balance, 9_983);
  });

  it('spends granted credits before paid ones, splitting a debit into two rows when it spans both', async () => {
    const w = await walletWith(t.db, { starterCredits: 10 });
    await topUp(t.db, { walletId: w.id, amount: 100, creditType: 'paid' });
    const a = await authorize(t.db, { walletId: w.id, amount: 25 });
    const s = await settle(t.db, { reservationId: a.reservation.id, credits: 25 });
    assert.equal(s.chargedGranted, 10);
    assert.equal(s.chargedPaid, 15);
    assert.equal(s.entries.length, 2);
    assert.deepEqual(s.entries.map((e) => [e.creditType, e.amount]), [['granted', -10], ['paid', -15]]);
    assert.equal(s.ledgerEntryId, s.entries[0].id);
    const replay = await settle(t.db, { reservationId: a.reservation.id, credits: 25 });
    assert.deepEqual(replay.entries, s.entries);
    assert.equal(replay.chargedGranted, 10);
    const wallet = await getWallet(t.db, w.id);
    assert.deepEqual([wallet.grantedBalance, wallet.paidBalance, wallet.balance], [0, 85, 85]);
  });

  it('records a free run as one zero-credit debit so the settle still has a ledgerEntryId', async () => {
    const w = await walletWith(t.db, { starterCredits: 10 });
    const a = await authorize(t.db, { walletId: w.id, amount: 5 });
    const s = await settle(t.db, { reservationId: a.reservation.id, credits: 0 });
    assert.equal(s.charged, 0);
    assert.equal(s.entries.length, 1);
    assert.equal(s.entries[0].amount, 0);
    assert.equal((await settle(t.db, { reservationId: a.reservation.id, credits: 0 })).ledgerEntryId, s.ledgerEntryId);
  });

  it('replays an authorize for the same run and refuses the same run with another budget', async () => {
    const w = await walletWith(t.db, { starterCredits: 100 });
    const a = await authorize(t.db, { walletId: w.id, runId: 'run_x', instanceId: 'inst_1', amount: 10 });
    const b = await authorize(t.db, { walletId: w.id, runId: 'run_x', instanceId: 'inst_1', amount: 10 });
    assert.equal(b.reservation.id, a.reservation.id);
    assert.equal(b.replayed, true);
    assert.equal((await getWallet(t.db, w.id)).reserved, 10);
    assert.equal(await codeOf(() => authorize(t.db, { walletId: w.id, runId: 'run_x', instanceId: 'inst_1', amount: 11 })), 'IDEMPOTENCY_PAYLOAD_MISMATCH');
  });

  it('answers NOT_FOUND for unknown wallets and reservations, VALIDATION_FAILED for bad amounts', async () => {
    assert.equal(await codeOf(() => authorize(t.db, { walletId: 'wal_nope', amount: 1 })), 'NOT_FOUND');
    assert.equal(await codeOf(() => settle(t.db, { reservationId: 'rsv_nope', credits: 1 })), 'NOT_FOUND');
    assert.equal(await codeOf(() => voidReservation(t.db, { reservationId: 'rsv_nope' })), 'NOT_FOUND');
    const w = await walletWith(t.db);
    for (const amount of [0, -1, 1.5, Number.NaN]) {
      assert.equal(await codeOf(() => authorize(t.db, { walletId: w.id, amount })), 'VALIDATION_FAILED');
    }
    const a = await authorize(t.db, { walletId: w.id, amount: 1 });
    assert.equal(await codeOf(() => settle(t.db, { reservationId: a.reservation.id, credits: -3 })), 'VALIDATION_FAILED');
  });
});
