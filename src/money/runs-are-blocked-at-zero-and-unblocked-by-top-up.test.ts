/**
 * T4: credits are debited, and a run is blocked at zero with INSUFFICIENT_CREDITS.
 * T5: a top-up unblocks it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDb, type TestDb } from '../../test/support/db';
import { walletWith } from '../../test/support/money';
import { AppError } from '../platform/errors';
import { authorize, settle } from './billing';
import { getWallet, history, topUp } from './wallets';

describe('runs are blocked at zero and unblocked by a top-up (T4, T5)', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  it('debits each run until the wallet is empty, then refuses with INSUFFICIENT_CREDITS and the numbers', async () => {
    const w = await walletWith(t.db, { starterCredits: 30 });
    for (let i = 0; i < 3; i++) {
      const a = await authorize(t.db, { walletId: w.id, instanceId: 'inst_1', runId: `run_${i}`, amount: 10 });
      const s = await settle(t.db, { reservationId: a.reservation.id, credits: 10, runId: `run_${i}` });
      assert.equal(s.charged, 10);
      assert.equal(s.balanceAfter, 30 - 10 * (i + 1));
    }
    const empty = await getWallet(t.db, w.id);
    assert.equal(empty.balance, 0);
    assert.equal(empty.available, 0);

    await assert.rejects(
      authorize(t.db, { walletId: w.id, runId: 'run_blocked', amount: 10 }),
      (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'INSUFFICIENT_CREDITS');
        assert.equal(err.status, 403);
        assert.deepEqual(err.details, { walletId: w.id, balance: 0, available: 0, requiredBudget: 10 });
        return true;
      },
    );
    const page = await history(t.db, { walletId: w.id, order: 'asc' });
    assert.deepEqual(
      page.items.map((e) => [e.kind, e.amount, e.balanceAfter]),
      [['grant', 30, 30], ['debit', -10, 20], ['debit', -10, 10], ['debit', -10, 0]],
    );
  });

  it('counts open reservations against the balance: a second hold that does not fit is refused', async () => {
    const w = await walletWith(t.db, { starterCredits: 15 });
    await authorize(t.db, { walletId: w.id, amount: 10 });
    const err = await authorize(t.db, { walletId: w.id, amount: 10 }).catch((e: unknown) => e as AppError);
    assert.equal((err as AppError).code, 'INSUFFICIENT_CREDITS');
    assert.deepEqual((err as AppError).details, { walletId: w.id, balance: 15, available: 5, requiredBudget: 10 });
  });

  it('lets the blocked run through after a paid top-up', async () => {
    const w = await walletWith(t.db, { starterCredits: 0 });
    await assert.rejects(authorize(t.db, { walletId: w.id, amount: 5 }), { code: 'INSUFFICIENT_CREDITS' });
    const up = await topUp(t.db, { walletId: w.id, amount: 50, creditType: 'paid', reference: 'saleor:o1:l1' });
    assert.equal(up.wallet.balance, 50);
    assert.equal(up.wallet.paidBalance, 50);
    const a = await authorize(t.db, { walletId: w.id, amount: 5 });
    const s = await settle(t.db, { reservationId: a.reservation.id, credits: 4 });
    assert.equal(s.charged, 4);
    assert.equal(s.chargedPaid, 4);
    assert.equal((await getWallet(t.db, w.id)).balance, 46);
  });
});
