/**
 * Two-phase billing (TigerBeetle's pending/posted transfers):
 *
 *   authorize → a reservation holding `amount` credits (status `open`, expires after a TTL)
 *   settle    → debits the metered credits and closes it (`settled`)
 *   void      → releases it uncharged (`voided`)
 *   expiry    → the sweeper, or lazily authorize/getWallet/settle, release it (`expired`)
 *
 * Rules:
 * - available = balance − open reservations; an authorize needs available ≥ amount, else
 *   403 INSUFFICIENT_CREDITS {walletId, balance, available, requiredBudget}. So debits plus
 *   pending never exceed credits (the wallet row's CHECK reserved ≤ balance enforces it too).
 * - settle charges min(credits, available incl. this reservation's hold); `overage` is set
 *   when credits > the reserved amount or when the charge was capped. Never negative.
 * - Each reservation is resolved exactly once (a DB trigger refuses any change after that):
 *   settle on voided → RESERVATION_ALREADY_RESOLVED, on expired → RESERVATION_EXPIRED,
 *   void on settled → RESERVATION_ALREADY_RESOLVED; the same settle repeated replays the first
 *   answer (same ledgerEntryId), void repeated replays too.
 * - A debit spends granted credits first, then paid; when it spans both it is written as two
 *   ledger rows (granted, then paid). `ledgerEntryId` is the first row — the granted part when
 *   there is one — and `ledgerEntryIds` lists all. A zero charge writes one 0-credit debit row,
 *   so every settled reservation has a ledger entry to point at.
 *
 * Concurrency: every change to a wallet or its reservations happens in one short transaction
 * holding the wallet's row lock (SELECT … FOR UPDATE), taken before any reservation row lock
 * (lock order wallet → reservation, everywhere), so concurrent callers on real PostgreSQL
 * serialize per wallet and never overspend. Outcomes decided inside a transaction that must
 * still commit (a lazy expiry) are thrown after the commit.
 */
import { AppError, notFound } from '../platform/errors';
import { newId } from '../platform/ids';
import { inTransaction, one, rows, type Db } from '../db/tx';
import {
  credits,
  DEFAULT_RESERVATION_TTL_SECONDS,
  invalid,
  MAX_RESERVATION_TTL_SECONDS,
  nonEmpty,
  nowOf,
  optionalString,
  SPEND_ORDER,
  type CreditType,
  type MoneyDeps,
  type ReservationStatus,
  type ReservationView,
} from './types';
import { expireOverdueLocked, lockWallet, lowBalanceTransition, WALLET_COLUMNS, type LedgerRow, type WalletRow } from './wallets';

export interface ReservationRow {
  id: string;
  wallet_id: string;
  instance_id: string | null;
  run_id: string | null;
  amount: number;
  status: ReservationStatus;
  expires_at: Date;
  settled_entry_id: string | null;
  requested: number | null;
  charged: number | null;
  overage: boolean;
  usage: Record<string, unknown> | null;
  resolved_at: Date | null;
  created_at: Date;
}

const RESERVATION_COLUMNS =
  'id, wallet_id, instance_id, run_id, amount, status, expires_at, settled_entry_id, requested, charged, overage, usage, resolved_at, created_at';

export function reservationView(r: ReservationRow): ReservationView {
  return {
    id: r.id,
    walletId: r.wallet_id,
    instanceId: r.instance_id,
    runId: r.run_id,
    amount: r.amount,
    status: r.status,
    expiresAt: r.expires_at,
    settledEntryId: r.settled_entry_id,
    requested: r.requested,
    charged: r.charged,
    overage: r.overage,
    resolvedAt: r.resolved_at,
    createdAt: r.created_at,
  };
}

// ---------------------------------------------------------------------------------------------
// authorize

export interface AuthorizeInput {
  walletId: string;
  instanceId?: string | null;
  /**
   * The run this budget is for. At most one reservation per (wallet, run): repeating an
   * authorize with the same runId and amount returns the existing reservation (`replayed`),
   * a different amount/instance answers IDEMPOTENCY_PAYLOAD_MISMATCH.
   */
  runId?: string | null;
  amount: number;
  /** 1 s .. 24 h, default 300 s. */
  ttlSeconds?: number;
}

export interface AuthorizeResult {
  reservation: ReservationView;
  /** The wallet's balance and available credits right after this authorize. */
  balance: number;
  available: number;
  replayed: boolean;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: AppError };

export async function authorize(db: Db, input: AuthorizeInput, deps?: MoneyDeps): Promise<AuthorizeResult> {
  const walletId = nonEmpty('walletId', input.walletId);
  const amount = credits('amount', input.amount, 1);
  const ttl = credits('ttlSeconds', input.ttlSeconds ?? DEFAULT_RESERVATION_TTL_SECONDS, 1, MAX_RESERVATION_TTL_SECONDS);
  const instanceId = optionalString('instanceId', input.instanceId);
  const runId = optionalString('runId', input.runId);
  const now = nowOf(deps);
  const expiresAt = new Date(now.getTime() + ttl * 1000);
  const id = newId('rsv', now.getTime());

  const outcome = await inTransaction(db, async (trx): Promise<Outcome<AuthorizeResult>> => {
    let w = await lockWallet(trx, walletId);
    if (w.balance - w.reserved < amount) {
      // Only worth a write when expired holds could change the answer.
      const expired = await expireOverdueLocked(trx, walletId, now);
      if (expired.wallet) w = expired.wallet;
    }
    if (w.balance - w.reserved < amount) {
      const existing = runId === null ? undefined : await findByRun(trx, walletId, runId);
      if (existing) return { ok: true, value: replayAuthorize(existing, w, amount, instanceId) };
      return {
        ok: false,
        error: new AppError('INSUFFICIENT_CREDITS', 'Not enough credits available for this run', {
          walletId,
          balance: w.balance,
          available: Math.max(0, w.balance - w.reserved),
          requiredBudget: amount,
        }),
      };
    }
    const r = await one<ReservationRow & { w_reserved: number | null }>(
      trx,
      `with r as (
         insert into reservations (id, wallet_id, instance_id, run_id, amount, status, expires_at, created_at)
         values (?, ?, ?, ?, ?, 'open', ?, ?)
         on conflict (wallet_id, run_id) where run_id is not null do nothing
         returning ${RESERVATION_COLUMNS}),
       u as (
         update wallets set reserved = reserved + ?, version = version + 1, updated_at = ?
          where id = ? and exists (select 1 from r)
          returning reserved)
       select r.*, (select reserved from u) as w_reserved from r`,
      [id, walletId, instanceId, runId, amount, expiresAt, now, amount, now, walletId],
    );
    if (!r) {
      const existing = await findByRun(trx, walletId, runId!);
      if (!existing) throw new AppError('INTERNAL', 'Reservation conflict without a reservation');
      return { ok: true, value: replayAuthorize(existing, w, amount, instanceId) };
    }
    const { w_reserved, ...row } = r;
    const reserved = w_reserved as number;
    return {
      ok: true,
      value: { reservation: reservationView(row), balance: w.balance, available: w.balance - reserved, replayed: false },
    };
  });
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

async function findByRun(trx: Db, walletId: string, runId: string): Promise<ReservationRow | undefined> {
  return one<ReservationRow>(trx, `select ${RESERVATION_COLUMNS} from reservations where wallet_id = ? and run_id = ?`, [
    walletId,
    runId,
  ]);
}

function replayAuthorize(existing: ReservationRow, w: WalletRow, amount: number, instanceId: string | null): AuthorizeResult {
  if (existing.amount !== amount || existing.instance_id !== instanceId) {
    throw new AppError('IDEMPOTENCY_PAYLOAD_MISMATCH', 'This run already has a reservation with a different budget', {
      reservationId: existing.id,
      runId: existing.run_id,
    });
  }
  return {
    reservation: reservationView(existing),
    balance: w.balance,
    available: Math.max(0, w.balance - w.reserved),
    replayed: true,
  };
}

// ---------------------------------------------------------------------------------------------
// settle

export interface SettleInput {
  reservationId: string;
  /** Credits the run used, already metered by the capabilities' meter(). */
  credits: number;
  /** Must match the reservation's run when both are set (and sets it when it had none). */
  runId?: string | null;
  /** The usage dimensions behind `credits`, kept on the reservation and the ledger row. */
  usage?: Record<string, unknown> | null;
}

export interface SettleEntry {
  id: string;
  creditType: CreditType;
  /** Negative (or 0). */
  amount: number;
  seq: number;
}

export interface SettleResult {
  reservationId: string;
  walletId: string;
  runId: string | null;
  /** The primary debit row: the first of `entries` (granted part first). */
  ledgerEntryId: string;
  ledgerEntryIds: string[];
  entries: SettleEntry[];
  /** The budget the reservation held. */
  reserved: number;
  /** Credits the caller asked to charge. */
  requested: number;
  /** Credits actually debited (≤ requested; capped by the available balance). */
  charged: number;
  chargedGranted: number;
  chargedPaid: number;
  /** requested > reserved, or the charge was capped. */
  overage: boolean;
  /** The wallet's balance right after this settle (the same on a replay). */
  balanceAfter: number;
  replayed: boolean;
}

export async function settle(db: Db, input: SettleInput, deps?: MoneyDeps): Promise<SettleResult> {
  const reservationId = nonEmpty('reservationId', input.reservationId);
  const requested = credits('credits', input.credits, 0);
  const runId = optionalString('runId', input.runId);
  const usage = input.usage ?? null;
  if (usage !== null && (typeof usage !== 'object' || Array.isArray(usage))) {
    throw invalid('usage must be an object', { field: 'usage' });
  }
  const now = nowOf(deps);

  const outcome = await inTransaction(db, async (trx): Promise<Outcome<SettleResult>> => {
    const { w, r } = await lockReservation(trx, reservationId);
    if (r.status === 'settled') return { ok: true, value: await replaySettle(trx, r, requested, runId) };
    if (r.status === 'voided') return { ok: false, error: alreadyResolved(r) };
    if (r.status === 'expired') return { ok: false, error: expiredError(r) };
    if (runId !== null && r.run_id !== null && runId !== r.run_id) {
      throw invalid('runId does not match the reservation', { field: 'runId', reservationId });
    }
    if (r.expires_at.getTime() <= now.getTime()) {
      await expireOverdueLocked(trx, w.id, now);
      return { ok: false, error: expiredError({ ...r, status: 'expired' }) };
    }

    const availableIncl = w.balance - w.reserved + r.amount;
    const charged = Math.min(requested, availableIncl);
    const overage = requested > r.amount || charged < requested;
    const byType: Record<CreditType, number> = { granted: 0, paid: 0 };
    let left = charged;
    for (const t of SPEND_ORDER) {
      const have = t === 'granted' ? w.granted_balance : w.paid_balance;
      byType[t] = Math.min(left, have);
      left -= byType[t];
    }
    if (left !== 0) throw new AppError('INTERNAL', 'Wallet split does not cover the charge');
    const parts = SPEND_ORDER.filter((t) => byType[t] > 0);
    if (parts.length === 0) parts.push(SPEND_ORDER[0]); // a zero charge still gets its entry

    let balance = w.balance;
    const entries: (SettleEntry & { balanceAfter: number })[] = parts.map((t, i) => {
      balance -= byType[t];
      return { id: newId('led', now.getTime()), creditType: t, amount: 0 - byType[t], seq: w.last_seq + 1 + i, balanceAfter: balance };
    });
    const effectiveRun = r.run_id ?? runId;
    const meta = JSON.stringify(usage === null ? {} : { usage });
    const values = entries.map(() => `(?, ?, ?, 'debit', ?, ?, ?, ?, ?, ?::jsonb, ?)`).join(', ');
    const bindings: (string | number | Date | null)[] = [];
    for (const e of entries) {
      bindings.push(e.id, w.id, e.seq, e.creditType, e.amount, e.balanceAfter, r.id, effectiveRun, meta, now);
    }
    const after = await one<WalletRow & { l: number; r: number }>(
      trx,
      `with l as (
         insert into ledger_entries (id, wallet_id, seq, kind, credit_type, amount, balance_after, reservation_id, run_id, metadata, created_at)
         values ${values}
         returning id),
       r as (
         update reservations set status = 'settled', settled_entry_id = ?, requested = ?, charged = ?, overage = ?,
                usage = ?::jsonb, run_id = ?, resolved_at = ?
          where id = ? and status = 'open'
          returning id),
       u as (
         update wallets set balance = balance - ?, granted_balance = granted_balance - ?, paid_balance = paid_balance - ?,
                reserved = reserved - ?, last_seq = last_seq + ?, version = version + 1, updated_at = ?
          where id = ?
          returning ${WALLET_COLUMNS})
       select u.*, (select count(*) from l) as l, (select count(*) from r) as r from u`,
      [
        ...bindings,
        entries[0].id, requested, charged, overage, usage === null ? null : JSON.stringify(usage), effectiveRun, now, r.id,
        charged, byType.granted, byType.paid, r.amount, entries.length, now, w.id,
      ],
    );
    if (!after || after.l !== entries.length || after.r !== 1) {
      throw new AppError('INTERNAL', 'Settle wrote an unexpected number of rows'); // rolls back
    }
    lowBalanceTransition(db, deps, { balance: w.balance, threshold: w.low_balance_threshold }, after, now);
    return {
      ok: true,
      value: {
        reservationId: r.id,
        walletId: w.id,
        runId: effectiveRun,
        ledgerEntryId: entries[0].id,
        ledgerEntryIds: entries.map((e) => e.id),
        entries: entries.map((e) => ({ id: e.id, creditType: e.creditType, amount: e.amount, seq: e.seq })),
        reserved: r.amount,
        requested,
        charged,
        chargedGranted: byType.granted,
        chargedPaid: byType.paid,
        overage,
        balanceAfter: after.balance,
        replayed: false,
      },
    };
  });
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/**
 * Locks the reservation's wallet, then the reservation (one statement; `FOR UPDATE OF w, r`
 * takes the locks in that order), and returns both as of after the locks were granted.
 */
async function lockReservation(trx: Db, reservationId: string): Promise<{ w: WalletRow; r: ReservationRow }> {
  const row = await one<Record<string, unknown>>(
    trx,
    `select ${WALLET_COLUMNS.split(', ').map((c) => `w.${c} as w_${c}`).join(', ')},
            ${RESERVATION_COLUMNS.split(', ').map((c) => `r.${c} as r_${c}`).join(', ')}
       from wallets w join reservations r on r.wallet_id = w.id
      where r.id = ?
      for update of w, r`,
    [reservationId],
  );
  if (!row) throw notFound('Reservation');
  const w: Record<string, unknown> = {};
  const r: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith('w_')) w[k.slice(2)] = v;
    else r[k.slice(2)] = v;
  }
  return { w: w as unknown as WalletRow, r: r as unknown as ReservationRow };
}

function alreadyResolved(r: ReservationRow): AppError {
  return new AppError('RESERVATION_ALREADY_RESOLVED', `Reservation is already ${r.status}`, {
    reservationId: r.id,
    status: r.status,
  });
}

function expiredError(r: ReservationRow): AppError {
  return new AppError('RESERVATION_EXPIRED', 'Reservation expired before it was settled; its budget was released', {
    reservationId: r.id,
    status: 'expired',
    expiresAt: r.expires_at.toISOString(),
  });
}

async function replaySettle(trx: Db, r: ReservationRow, requested: number, runId: string | null): Promise<SettleResult> {
  if (r.requested !== requested || (runId !== null && r.run_id !== null && runId !== r.run_id)) {
    throw new AppError('RESERVATION_ALREADY_RESOLVED', 'Reservation was already settled with a different charge', {
      reservationId: r.id,
      status: r.status,
      requested: r.requested,
    });
  }
  const debits = await rows<LedgerRow>(
    trx,
    `select * from ledger_entries where reservation_id = ? and kind = 'debit' order by seq`,
    [r.id],
  );
  if (debits.length === 0 || debits[0].id !== r.settled_entry_id) {
    throw new AppError('INTERNAL', 'Settled reservation without its ledger entry');
  }
  const by = (t: CreditType) => 0 - debits.filter((d) => d.credit_type === t).reduce((s, d) => s + d.amount, 0);
  return {
    reservationId: r.id,
    walletId: r.wallet_id,
    runId: r.run_id,
    ledgerEntryId: debits[0].id,
    ledgerEntryIds: debits.map((d) => d.id),
    entries: debits.map((d) => ({ id: d.id, creditType: d.credit_type, amount: d.amount, seq: d.seq })),
    reserved: r.amount,
    requested: r.requested,
    charged: r.charged as number,
    chargedGranted: by('granted'),
    chargedPaid: by('paid'),
    overage: r.overage,
    balanceAfter: debits[debits.length - 1].balance_after,
    replayed: true,
  };
}

// ---------------------------------------------------------------------------------------------
// void

export interface VoidResult {
  reservation: ReservationView;
  /** false when this call released the budget, true when it had already been released. */
  replayed: boolean;
}

/**
 * Releases an open reservation uncharged (a failed run). Voiding a voided reservation replays;
 * voiding an expired one answers it as it is (its budget is already released);
 * voiding a settled one answers RESERVATION_ALREADY_RESOLVED.
 */
export async function voidReservation(db: Db, input: { reservationId: string }, deps?: MoneyDeps): Promise<VoidResult> {
  const reservationId = nonEmpty('reservationId', input.reservationId);
  const now = nowOf(deps);
  const outcome = await inTransaction(db, async (trx): Promise<Outcome<VoidResult>> => {
    const { w, r } = await lockReservation(trx, reservationId);
    if (r.status === 'settled') return { ok: false, error: alreadyResolved(r) };
    if (r.status !== 'open') return { ok: true, value: { reservation: reservationView(r), replayed: true } };
    if (r.expires_at.getTime() <= now.getTime()) {
      await expireOverdueLocked(trx, w.id, now);
      return { ok: true, value: { reservation: reservationView({ ...r, status: 'expired', resolved_at: now }), replayed: true } };
    }
    const updated = await one<ReservationRow>(
      trx,
      `with r as (
         update reservations set status = 'voided', resolved_at = ? where id = ? and status = 'open'
         returning ${RESERVATION_COLUMNS}),
       u as (
         update wallets set reserved = reserved - ?, version = version + 1, updated_at = ?
          where id = ? and exists (select 1 from r) returning id)
       select r.* from r`,
      [now, r.id, r.amount, now, w.id],
    );
    if (!updated) throw new AppError('INTERNAL', 'Void found no open reservation under lock');
    return { ok: true, value: { reservation: reservationView(updated), replayed: false } };
  });
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

export async function getReservation(db: Db, reservationId: string): Promise<ReservationView> {
  const r = await one<ReservationRow>(db, `select ${RESERVATION_COLUMNS} from reservations where id = ?`, [
    nonEmpty('reservationId', reservationId),
  ]);
  if (!r) throw notFound('Reservation');
  return reservationView(r);
}

// ---------------------------------------------------------------------------------------------
// expiry sweeper

export interface ExpireResult {
  expired: number;
  released: number;
  wallets: number;
}

/**
 * Expires every open reservation whose expiry is at or before `now` (default: the clock),
 * one short transaction per wallet (wallet lock first, as everywhere). Run it periodically;
 * authorize, settle, void and getWallet also expire lazily, so correctness never waits on it.
 */
export async function expireReservations(
  db: Db,
  opts: { now?: Date; batchWallets?: number } = {},
  deps?: MoneyDeps,
): Promise<ExpireResult> {
  const now = opts.now ?? nowOf(deps);
  const batch = opts.batchWallets ?? 500;
  const total: ExpireResult = { expired: 0, released: 0, wallets: 0 };
  for (;;) {
    const wallets = await rows<{ wallet_id: string }>(
      db,
      `select distinct wallet_id from reservations where status = 'open' and expires_at <= ? limit ?`,
      [now, batch],
    );
    if (wallets.length === 0) return total;
    for (const { wallet_id } of wallets) {
      const r = await inTransaction(db, async (trx) => {
        await lockWallet(trx, wallet_id);
        return expireOverdueLocked(trx, wallet_id, now);
      });
      total.expired += r.count;
      total.released += r.released;
      if (r.count > 0) total.wallets += 1;
    }
    if (wallets.length < batch) return total;
  }
}
