/**
 * Wallets and their append-only ledger.
 *
 * Every function takes the knex (or a transaction) explicitly; every mutation is one
 * transaction (or one statement), joining the caller's transaction when given one. The wallet
 * row caches the ledger's sums (balance, paid/granted split, last seq) and is updated in the
 * same transaction as each ledger row, under the wallet's row lock, so
 * `balance = sum(ledger.amount)` holds at every commit.
 */
import { AppError, notFound } from '../platform/errors';
import { resumeSuspendedForCredits } from './depletion';
import { newId } from '../platform/ids';
import { afterCommit, inTransaction, one, rows, sqlState, SQLSTATE, type Db } from '../db/tx';
import { lockExpiringQuotas, QUOTA_HAS_NO_PENDING_CHARGES } from './journal-guards';
import {
  credits,
  DEFAULT_STARTER_CREDITS,
  invalid,
  nonEmpty,
  nowOf,
  optionalString,
  type CreditType,
  type LedgerEntryView,
  type LedgerKind,
  type MoneyDeps,
  type MoneyEvent,
  type WalletView,
} from './types';

/** The wallet columns as stored. */
export interface WalletRow {
  id: string;
  org_id: string;
  project_id: string | null;
  balance: number;
  reserved: number;
  paid_balance: number;
  granted_balance: number;
  low_balance_threshold: number | null;
  last_seq: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface LedgerRow {
  id: string;
  wallet_id: string;
  seq: number;
  kind: LedgerKind;
  credit_type: CreditType;
  amount: number;
  balance_after: number;
  reservation_id: string | null;
  run_id: string | null;
  reference: string | null;
  metadata: Record<string, unknown> | null;
  created_at: Date;
}

export const WALLET_COLUMNS =
  'id, org_id, project_id, balance, reserved, paid_balance, granted_balance, low_balance_threshold, last_seq, version, created_at, updated_at';

export function isLow(balance: number, threshold: number | null): boolean {
  return threshold !== null && balance < threshold;
}

/** `reserved` here is what open, unexpired reservations hold (may be below the row's column). */
export function walletView(w: WalletRow, reserved = w.reserved): WalletView {
  return {
    id: w.id,
    orgId: w.org_id,
    projectId: w.project_id,
    balance: w.balance,
    reserved,
    available: Math.max(0, w.balance - reserved),
    paidBalance: w.paid_balance,
    grantedBalance: w.granted_balance,
    lowBalanceThreshold: w.low_balance_threshold,
    lowBalance: isLow(w.balance, w.low_balance_threshold),
    version: w.version,
    createdAt: w.created_at,
    updatedAt: w.updated_at,
  };
}

export function ledgerView(r: LedgerRow): LedgerEntryView {
  return {
    id: r.id,
    walletId: r.wallet_id,
    seq: r.seq,
    kind: r.kind,
    creditType: r.credit_type,
    amount: r.amount,
    balanceAfter: r.balance_after,
    reservationId: r.reservation_id,
    runId: r.run_id,
    reference: r.reference,
    metadata: r.metadata ?? {},
    createdAt: r.created_at,
  };
}

/** Emits `wallet.low_balance` after commit when the wallet went from not-low to low. */
export function lowBalanceTransition(
  db: Db,
  deps: MoneyDeps | undefined,
  before: { balance: number; threshold: number | null },
  after: WalletRow,
  at: Date,
): void {
  const events = deps?.events;
  if (!events) return;
  if (isLow(before.balance, before.threshold) || !isLow(after.balance, after.low_balance_threshold)) return;
  const event: MoneyEvent = {
    type: 'wallet.low_balance',
    walletId: after.id,
    orgId: after.org_id,
    projectId: after.project_id,
    balance: after.balance,
    threshold: after.low_balance_threshold as number,
    at,
  };
  afterCommit(db, () => events.emit(event), deps?.onEventError);
}

/** Locks the wallet row for the rest of the transaction. NOT_FOUND when absent. */
export async function lockWallet(trx: Db, walletId: string): Promise<WalletRow> {
  const w = await one<WalletRow>(trx, `select ${WALLET_COLUMNS} from wallets where id = ? for update`, [walletId]);
  if (!w) throw notFound('Wallet');
  return w;
}

export interface CreateWalletInput {
  orgId: string;
  projectId?: string | null;
  /** Granted starter credits, recorded as a `grant` ledger entry. Default 1000. */
  starterCredits?: number;
  lowBalanceThreshold?: number | null;
  /** Reference on the starter grant (e.g. `starter:<orgId>`), unique per wallet. */
  reference?: string;
}

export async function createWallet(db: Db, input: CreateWalletInput, deps?: MoneyDeps): Promise<WalletView> {
  const orgId = nonEmpty('orgId', input.orgId);
  const projectId = optionalString('projectId', input.projectId);
  const starter = credits('starterCredits', input.starterCredits ?? DEFAULT_STARTER_CREDITS);
  const threshold =
    input.lowBalanceThreshold === undefined || input.lowBalanceThreshold === null
      ? null
      : credits('lowBalanceThreshold', input.lowBalanceThreshold);
  const id = newId('wal');
  const now = nowOf(deps);
  return inTransaction(db, async (trx) => {
    const w = await one<WalletRow>(
      trx,
      `insert into wallets (id, org_id, project_id, balance, granted_balance, low_balance_threshold, last_seq, created_at, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning ${WALLET_COLUMNS}`,
      [id, orgId, projectId, starter, starter, threshold, starter > 0 ? 1 : 0, now, now],
    );
    if (starter > 0) {
      await trx.raw(
        `insert into ledger_entries (id, wallet_id, seq, kind, credit_type, amount, balance_after, reference, metadata, created_at)
         values (?, ?, 1, 'grant', 'granted', ?, ?, ?, ?::jsonb, ?)`,
        [newId('led'), id, starter, starter, input.reference ?? null, JSON.stringify({ reason: 'starter_credits' }), now],
      );
    }
    return walletView(w!);
  });
}

/**
 * The wallet as a buyer sees it. Reservations past their expiry no longer count; if any are
 * still open they are expired here (lazy expiry, a short transaction on the wallet).
 */
export async function getWallet(db: Db, walletId: string, deps?: MoneyDeps): Promise<WalletView> {
  nonEmpty('walletId', walletId);
  const now = nowOf(deps);
  const w = await one<WalletRow & { overdue: number }>(
    db,
    `select ${WALLET_COLUMNS},
            (select count(*) from reservations r
              where r.wallet_id = w.id and r.status = 'open' and r.expires_at <= ?) as overdue
       from wallets w where id = ?`,
    [now, walletId],
  );
  if (!w) throw notFound('Wallet');
  if (w.overdue === 0) return walletView(w);
  const fresh = await inTransaction(db, async (trx) => {
    await lockWallet(trx, walletId);
    const { wallet } = await expireOverdueLocked(trx, walletId, now);
    return wallet ?? (await one<WalletRow>(trx, `select ${WALLET_COLUMNS} from wallets where id = ?`, [walletId]))!;
  });
  return walletView(fresh);
}

/**
 * Expires the wallet's open reservations whose expiry is at or before `now`, releasing their
 * budget. The caller holds the wallet lock. Returns how many and how much, and the updated
 * wallet row when anything changed.
 */
export async function expireOverdueLocked(
  trx: Db,
  walletId: string,
  now: Date,
): Promise<{ count: number; released: number; wallet?: WalletRow }> {
  // A quota with journaled charges not yet applied stays open (journal-guards.ts).
  await lockExpiringQuotas(trx, [walletId], now);
  const r = await one<WalletRow & { n: number; released: number }>(
    trx,
    `with e as (
       update reservations set status = 'expired', resolved_at = ?
        where wallet_id = ? and status = 'open' and expires_at <= ? and ${QUOTA_HAS_NO_PENDING_CHARGES}
        returning id, amount),
     x as (
       update runs set status = 'expired', finished_at = ?, duration_ms = (extract(epoch from (?::timestamptz - started_at)) * 1000)::integer
        where reservation_id in (select id from e) and status = 'running'
        returning 1),
     s as (select count(*) as n, coalesce(sum(amount), 0)::bigint as released, (select count(*) from x) as runs from e),
     u as (
       update wallets set reserved = reserved - s.released, version = version + 1, updated_at = ?
         from s where wallets.id = ? and s.n > 0
       returning wallets.*)
     select s.n, s.released, u.* from s left join u on true`,
    [now, walletId, now, now, now, now, walletId],
  );
  if (!r || r.n === 0) return { count: 0, released: 0 };
  const { n, released, runs: _runs, ...wallet } = r as typeof r & { runs?: number };
  return { count: n, released, wallet: wallet as WalletRow };
}

export interface TopUpInput {
  walletId: string;
  amount: number;
  creditType: CreditType;
  /** External reference (order line, idempotency key); a wallet accepts each reference once. */
  reference?: string | null;
  metadata?: Record<string, unknown>;
}

export interface TopUpResult {
  ledgerEntryId: string;
  seq: number;
  kind: LedgerKind;
  creditType: CreditType;
  amount: number;
  wallet: WalletView;
}

/**
 * Adds credits: `paid` → a `topup` entry, `granted` → a `grant` entry. One statement (the
 * UPDATE takes the wallet row lock), so it is atomic on its own and cheap.
 * A reference the wallet has already seen answers ALREADY_EXISTS (409).
 */
export async function topUp(db: Db, input: TopUpInput, deps?: MoneyDeps): Promise<TopUpResult> {
  const walletId = nonEmpty('walletId', input.walletId);
  const amount = credits('amount', input.amount, 1);
  if (input.creditType !== 'paid' && input.creditType !== 'granted') {
    throw invalid("creditType must be 'paid' or 'granted'", { field: 'creditType' });
  }
  const creditType = input.creditType;
  const kind: LedgerKind = creditType === 'paid' ? 'topup' : 'grant';
  const reference = optionalString('reference', input.reference, 300);
  const now = nowOf(deps);
  const id = newId('led');
  let r: (WalletRow & { entry_id: string }) | undefined;
  try {
    r = await one<WalletRow & { entry_id: string }>(
      db,
      `with w as (
         update wallets set balance = balance + ?,
                paid_balance = paid_balance + ?, granted_balance = granted_balance + ?,
                last_seq = last_seq + 1, version = version + 1, updated_at = ?
          where id = ?
          returning *),
       l as (
         insert into ledger_entries (id, wallet_id, seq, kind, credit_type, amount, balance_after, reference, metadata, created_at)
         select ?, w.id, w.last_seq, ?, ?, ?, w.balance, ?, ?::jsonb, ? from w
         returning id)
       select w.*, l.id as entry_id from w join l on true`,
      [
        amount, creditType === 'paid' ? amount : 0, creditType === 'granted' ? amount : 0, now, walletId,
        id, kind, creditType, amount, reference, JSON.stringify(input.metadata ?? {}), now,
      ],
    );
  } catch (err) {
    if (sqlState(err) === SQLSTATE.UNIQUE_VIOLATION && reference !== null) {
      throw new AppError('ALREADY_EXISTS', 'This reference has already been credited to the wallet', {
        walletId,
        reference,
      });
    }
    throw err;
  }
  if (!r) throw notFound('Wallet');
  const { entry_id, ...w } = r;
  lowBalanceTransition(db, deps, { balance: w.balance - amount, threshold: w.low_balance_threshold }, w, now);
  // Credits in: instances suspended because this wallet ran dry (depletionPolicy: suspend) resume.
  if (await one(db, 'select 1 as x from instances where wallet_id = ? and suspended_for_credits limit 1', [walletId])) {
    await inTransaction(db, (trx) => resumeSuspendedForCredits(trx, walletId, now));
  }
  return {
    ledgerEntryId: entry_id,
    seq: w.last_seq,
    kind,
    creditType,
    amount,
    wallet: walletView(w),
  };
}

export async function setLowBalanceThreshold(
  db: Db,
  walletId: string,
  threshold: number | null,
  deps?: MoneyDeps,
): Promise<WalletView> {
  nonEmpty('walletId', walletId);
  const t = threshold === null ? null : credits('threshold', threshold);
  const now = nowOf(deps);
  const w = await inTransaction(db, async (trx) => {
    const before = await lockWallet(trx, walletId);
    const after = await one<WalletRow>(
      trx,
      `update wallets set low_balance_threshold = ?, version = version + 1, updated_at = ?
        where id = ? returning ${WALLET_COLUMNS}`,
      [t, now, walletId],
    );
    lowBalanceTransition(db, deps, { balance: before.balance, threshold: before.low_balance_threshold }, after!, now);
    return after!;
  });
  return walletView(w);
}

export interface HistoryInput {
  walletId: string;
  /** 1..200, default 50. */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string | null;
  /** Newest first (default) or oldest first. */
  order?: 'desc' | 'asc';
  /** Only entries of this kind / credit type, created in [from, to). */
  kind?: LedgerKind;
  creditType?: CreditType;
  from?: Date;
  to?: Date;
}

export interface HistoryPage {
  items: LedgerEntryView[];
  nextCursor: string | null;
}

interface Cursor {
  w: string;
  s: number;
  o: 'desc' | 'asc';
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(raw: string, walletId: string, order: 'desc' | 'asc'): Cursor {
  let c: Partial<Cursor> | undefined;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Cursor>;
  } catch {
    c = undefined;
  }
  if (!c || c.w !== walletId || typeof c.s !== 'number' || !Number.isSafeInteger(c.s) || c.o !== order) {
    throw invalid('cursor is not valid for this listing', { field: 'cursor' });
  }
  return c as Cursor;
}

/** The wallet's ledger, keyset-paginated by seq. */
export async function history(db: Db, input: HistoryInput): Promise<HistoryPage> {
  const walletId = nonEmpty('walletId', input.walletId);
  const limit = credits('limit', input.limit ?? 50, 1, 200);
  const order = input.order ?? 'desc';
  if (order !== 'desc' && order !== 'asc') throw invalid("order must be 'desc' or 'asc'", { field: 'order' });
  const after = input.cursor ? decodeCursor(input.cursor, walletId, order).s : null;
  const exists = await one<{ id: string }>(db, 'select id from wallets where id = ?', [walletId]);
  if (!exists) throw notFound('Wallet');
  const cmp = order === 'desc' ? '<' : '>';
  const where = ['wallet_id = ?'];
  const args: (string | number | Date)[] = [walletId];
  if (after !== null) (where.push(`seq ${cmp} ?`), args.push(after));
  if (input.kind) (where.push('kind = ?'), args.push(input.kind));
  if (input.creditType) (where.push('credit_type = ?'), args.push(input.creditType));
  if (input.from) (where.push('created_at >= ?'), args.push(input.from));
  if (input.to) (where.push('created_at < ?'), args.push(input.to));
  const list = await rows<LedgerRow>(
    db,
    `select * from ledger_entries where ${where.join(' and ')} order by seq ${order} limit ?`,
    [...args, limit + 1],
  );
  const more = list.length > limit;
  const items = list.slice(0, limit).map(ledgerView);
  return {
    items,
    nextCursor: more ? encodeCursor({ w: walletId, s: items[items.length - 1].seq, o: order }) : null,
  };
}
