/**
 * The ledger is append-only IN THE DATABASE, and the wallet's invariants are CHECK constraints:
 * raw SQL that would break them is refused, on PGlite and on PostgreSQL alike.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDb, type TestDb } from '../../test/support/db';
import { walletWith } from '../../test/support/money';
import { authorize, settle } from '../money/billing';

describe('the ledger is append-only and wallet invariants hold in the database', () => {
  let t: TestDb;
  let walletId: string;
  before(async () => {
    t = await openTestDb();
    const w = await walletWith(t.db, { starterCredits: 50 });
    walletId = w.id;
    const a = await authorize(t.db, { walletId, amount: 10 });
    await settle(t.db, { reservationId: a.reservation.id, credits: 7 });
  });
  after(() => t?.close());

  const refused = async (sql: string, bindings: unknown[] = [], why = /append-only|violates/) => {
    await assert.rejects(t.db.raw(sql, bindings as never[]), (err: unknown) => {
      assert.match(String((err as Error).message), why);
      return true;
    }, sql);
  };

  it('refuses UPDATE of a ledger entry', async () => {
    await refused(`update ledger_entries set amount = amount - 1 where wallet_id = ?`, [walletId], /append-only: UPDATE refused/);
    const [{ n }] = (await t.db.raw(`select count(*) as n from ledger_entries where wallet_id = ?`, [walletId])).rows;
    assert.equal(n, 2);
  });

  it('refuses DELETE, even one matching no row', async () => {
    await refused(`delete from ledger_entries where wallet_id = ?`, [walletId], /append-only: DELETE refused/);
    await refused(`delete from ledger_entries where false`, [], /append-only: DELETE refused/);
  });

  it('refuses TRUNCATE, also with CASCADE', async () => {
    // Plain TRUNCATE already fails on the reservations foreign key; CASCADE reaches the trigger.
    await refused(`truncate ledger_entries`, [], /append-only|cannot truncate/);
    await refused(`truncate ledger_entries cascade`, [], /ledger_entries is append-only: TRUNCATE refused/);
    const [{ n }] = (await t.db.raw(`select count(*) as n from ledger_entries`)).rows;
    assert.ok(n >= 2);
  });

  it('refuses a negative balance, reserved above balance, and a paid/granted split that does not add up', async () => {
    await refused(`update wallets set balance = -1, granted_balance = -1 where id = ?`, [walletId]);
    await refused(`update wallets set reserved = balance + 1 where id = ?`, [walletId]);
    await refused(`update wallets set balance = balance + 1 where id = ?`, [walletId]);
  });

  it('refuses to change a resolved reservation and a second debit of the same reservation', async () => {
    const [res] = (await t.db.raw(`select id from reservations where wallet_id = ? and status = 'settled'`, [walletId])).rows;
    await assert.rejects(t.db.raw(`update reservations set status = 'voided' where id = ?`, [res.id]), /already settled/);
    await assert.rejects(
      t.db.raw(
        `insert into ledger_entries (id, wallet_id, seq, kind, credit_type, amount, balance_after, reservation_id)
         values ('led_dup', ?, 99, 'debit', 'granted', -1, 0, ?)`,
        [walletId, res.id],
      ),
      /ledger_one_debit_per_reservation_uq/,
    );
  });

  it('answers int8, count(*), numeric and timestamptz as number, number, number and Date', async () => {
    const [r] = (
      await t.db.raw(`select 42::int8 as i, count(*) as c, 1.25::numeric as n, now() as ts from ledger_entries`)
    ).rows;
    assert.equal(r.i, 42);
    assert.equal(typeof r.c, 'number');
    assert.equal(r.n, 1.25);
    assert.ok(r.ts instanceof Date);
    await assert.rejects(t.db.raw(`select 9007199254740993::int8 as big`), /MAX_SAFE_INTEGER/);
  });
});
