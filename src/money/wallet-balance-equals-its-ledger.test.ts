/**
 * A wallet starts with granted starter credits, keeps paid and granted apart, pages its ledger
 * by seq with an opaque cursor, and raises a low-balance event when it crosses its threshold.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDb, type TestDb } from '../../test/support/db';
import { codeOf, createOrg, walletWith } from '../../test/support/money';
import { authorize, settle } from './billing';
import { createWallet, getWallet, history, setLowBalanceThreshold, topUp } from './wallets';
import type { MoneyEvent } from './types';

describe('a wallet balance equals its ledger', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  it('starts with a granted starter-credit grant entry', async () => {
    const { orgId, projectId } = await createOrg(t.db);
    const w = await createWallet(t.db, { orgId, projectId, starterCredits: 250 });
    assert.deepEqual(
      [w.balance, w.grantedBalance, w.paidBalance, w.reserved, w.available, w.lowBalance],
      [250, 250, 0, 0, 250, false],
    );
    const [entry] = (await history(t.db, { walletId: w.id })).items;
    assert.equal(entry.kind, 'grant');
    assert.equal(entry.creditType, 'granted');
    assert.equal(entry.amount, 250);
    assert.equal(entry.seq, 1);
  });

  it('records paid top-ups and granted grants apart, and the balance is the sum of the ledger', async () => {
    const w = await walletWith(t.db, { starterCredits: 10 });
    const paid = await topUp(t.db, { walletId: w.id, amount: 40, creditType: 'paid', reference: 'saleor:o9:l1' });
    const granted = await topUp(t.db, { walletId: w.id, amount: 5, creditType: 'granted', metadata: { reason: 'promo' } });
    assert.equal(paid.kind, 'topup');
    assert.equal(granted.kind, 'grant');
    assert.deepEqual([granted.wallet.balance, granted.wallet.paidBalance, granted.wallet.grantedBalance], [55, 40, 15]);
    const [{ sum }] = (await t.db.raw(`select coalesce(sum(amount), 0) as sum from ledger_entries where wallet_id = ?`, [w.id])).rows;
    assert.equal(Number(sum), 55);
    assert.equal(await codeOf(() => topUp(t.db, { walletId: w.id, amount: 40, creditType: 'paid', reference: 'saleor:o9:l1' })), 'ALREADY_EXISTS');
    assert.equal((await getWallet(t.db, w.id)).balance, 55);
    assert.equal(await codeOf(() => topUp(t.db, { walletId: w.id, amount: 0, creditType: 'paid' })), 'VALIDATION_FAILED');
    assert.equal(await codeOf(() => topUp(t.db, { walletId: 'wal_missing', amount: 1, creditType: 'paid' })), 'NOT_FOUND');
  });

  it('pages the ledger by seq with an opaque cursor, newest first or oldest first', async () => {
    const w = await walletWith(t.db, { starterCredits: 1 });
    for (let i = 0; i < 11; i++) await topUp(t.db, { walletId: w.id, amount: i + 1, creditType: 'paid' });
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof history>> = await history(t.db, { walletId: w.id, limit: 5, cursor });
      seen.push(...page.items.map((e) => e.seq));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const asc = await history(t.db, { walletId: w.id, limit: 3, order: 'asc' });
    assert.deepEqual(asc.items.map((e) => e.seq), [1, 2, 3]);
    const next = await history(t.db, { walletId: w.id, limit: 3, order: 'asc', cursor: asc.nextCursor });
    assert.deepEqual(next.items.map((e) => e.seq), [4, 5, 6]);
    assert.equal(await codeOf(() => history(t.db, { walletId: w.id, cursor: 'garbage' })), 'VALIDATION_FAILED');
    const other = await walletWith(t.db);
    assert.equal(await codeOf(() => history(t.db, { walletId: other.id, cursor: asc.nextCursor })), 'VALIDATION_FAILED');
  });

  it('emits wallet.low_balance once when a debit crosses the threshold, after commit', async () => {
    const events: MoneyEvent[] = [];
    const deps = { events: { emit: (e: MoneyEvent) => void events.push(e) } };
    const w = await walletWith(t.db, { starterCredits: 100, lowBalanceThreshold: 50 }, deps);
    const run = async (credits: number) => {
      const a = await authorize(t.db, { walletId: w.id, amount: credits }, deps);
      await settle(t.db, { reservationId: a.reservation.id, credits }, deps);
    };
    await run(40); // 60: not low
    assert.equal(events.length, 0);
    await run(20); // 40: crossed
    assert.equal(events.length, 1);
    assert.deepEqual({ ...events[0], at: undefined }, {
      type: 'wallet.low_balance', walletId: w.id, orgId: w.orgId, projectId: w.projectId, balance: 40, threshold: 50, at: undefined,
    });
    await run(10); // 30: still low, no new event
    assert.equal(events.length, 1);
    assert.equal((await getWallet(t.db, w.id)).lowBalance, true);
    await topUp(t.db, { walletId: w.id, amount: 100, creditType: 'paid' }, deps); // 130: recovered
    assert.equal((await getWallet(t.db, w.id)).lowBalance, false);
    await setLowBalanceThreshold(t.db, w.id, 200, deps); // raising the threshold above the balance
    assert.equal(events.length, 2);
  });

  it('emits nothing when the transaction that would have crossed rolls back', async () => {
    const events: MoneyEvent[] = [];
    const deps = { events: { emit: (e: MoneyEvent) => void events.push(e) } };
    const w = await walletWith(t.db, { starterCredits: 100, lowBalanceThreshold: 50 }, deps);
    const a = await authorize(t.db, { walletId: w.id, amount: 80 }, deps);
    await assert.rejects(
      t.db.transaction(async (trx) => {
        await settle(trx, { reservationId: a.reservation.id, credits: 80 }, deps);
        throw new Error('caller fails after settle');
      }),
      /caller fails/,
    );
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(events.length, 0);
    assert.equal((await getWallet(t.db, w.id)).balance, 100);
  });
});
