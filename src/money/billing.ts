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
 * - settle charges min(credits, the reservation's hold): never more than was reserved (the hold
 *   is the run's maximum). `overage` is set when credits > the reserved amount (the charge was
 *   capped). Never negative.
 * - Each reservation is resolved exactly once (a DB trigger refuses any change after that):
 *   settle on voided → RESERVATION_ALREADY_RESOLVED, on expired → RESERVATION_EXPIRED,
 *   void on settled → RESERVATION_ALREADY_RESOLVED; the same settle repeated replays the first
 *   answer (same ledgerEntryId), a void repeated replays too. A settle after the TTL is
 *   RESERVATION_EXPIRED even if no sweeper has run yet.
 * - A debit spends granted credits first, then paid; when it spans both it is written as two
 *   ledger rows (granted, then paid). `ledgerEntryId` is the first row — the granted part when
 *   there is one — and `ledgerEntryIds` lists all. A zero charge writes one 0-credit debit row,
 *   so every settled reservation has a ledger entry to point at.
 *
 * How it runs: every operation goes through `executeBatch`, which applies a list of
 * authorize/settle/void operations in ONE short transaction:
 *   1. lock the wallets involved (SELECT … ORDER BY id FOR UPDATE — sorted, so batches never
 *      deadlock each other), 2. read the reservations involved (consistent: every change to a
 *      reservation happens under its wallet's lock), 3. expire overdue holds where they matter,
 *   4. decide every operation in memory, in order, 5. write everything in one statement,
 *   6. commit. Answers that are errors are returned per operation (and thrown after the commit
 *   by the single-operation functions), so a lazy expiry decided on the way still commits.
 * The single-operation functions (`authorize`, `settle`, `voidReservation`) are batches of one.
 * `BillingEngine` (engine.ts) coalesces concurrent calls into batches: a hot wallet then pays
 * one commit (one WAL flush) for many operations instead of one each.
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
import { lockExpiringQuotas, QUOTA_HAS_NO_PENDING_CHARGES } from './journal-guards';
import { expireOverdueLocked, lockWallet, lowBalanceTransition, WALLET_COLUMNS, type LedgerRow, type WalletRow } from './wallets';
import { walletBusy } from './bounds';

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
  /** `run`: one run's hold (its amount never changes); `quota`: a gateway's credit quota (quotas.ts). */
  kind: ReservationKind;
  /** A quota's holder (the gateway replica) and the end of its validity for admitting runs. */
  holder: string | null;
  use_until: Date | null;
}

export type ReservationKind = 'run' | 'quota';

export const RESERVATION_COLUMNS =
  'id, wallet_id, instance_id, run_id, amount, status, expires_at, settled_entry_id, requested, charged, overage, usage, resolved_at, created_at, kind, holder, use_until';

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
// inputs and results

export interface AuthorizeInput {
  walletId: string;
  instanceId?: string | null;
  /**
   * The run this budget is for. At most one reservation per (wallet, run): repeating an
   * authorize with the same runId and amount returns the existing reservation (`replayed`),
   * a different amount/instance answers IDEMPOTENCY_PAYLOAD_MISMATCH. Gateways should always
   * send it: it makes authorize safe to retry after an unknown outcome.
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
  /** A charge against a quota: what is left of the quota's hold after it. */
  quotaLeft?: number;
  /** A charge against a quota: the wallet's row as this charge leaves it (not on a replay). */
  walletAfter?: WalletRow;
  /** The wallet's balance right after this settle (the same on a replay). */
  balanceAfter: number;
  replayed: boolean;
}

export interface VoidResult {
  reservation: ReservationView;
  /** false when this call released the budget, true when it had already been released. */
  replayed: boolean;
}

// ---------------------------------------------------------------------------------------------
// operations (validated, ready for a batch)

export interface AuthorizeOp {
  kind: 'authorize';
  walletId: string;
  id: string;
  amount: number;
  ttlSeconds: number;
  instanceId: string | null;
  runId: string | null;
  /** A credit quota's hold (kind `quota`): who holds it and until when it admits runs. */
  quota?: { holder: string; useUntil: Date };
}

/** Resizes an open quota to `target` (capped by what the wallet has available) and extends it. */
export interface QuotaResizeOp {
  kind: 'quota_resize';
  walletId: string;
  quotaId: string;
  target: number;
  useUntil: Date;
  expiresAt: Date;
}

/**
 * Charges one run against a quota: a settled reservation of the run's `hold` (its id chosen by
 * the caller, unique per (wallet, run)) debits min(requested, hold), and the quota shrinks by
 * that charge. Idempotent by run: the same charge again replays the first answer.
 */
export interface QuotaChargeOp {
  kind: 'quota_charge';
  walletId: string;
  quotaId: string;
  id: string;
  instanceId: string;
  runId: string;
  hold: number;
  requested: number;
  usage: Record<string, unknown> | null;
  /**
   * When the charge was recorded: a charge from the usage journal (usage-journal.ts) was made
   * when the gateway wrote it, so its quota must have been open then, not now. Default: now.
   */
  at?: Date;
}

export interface QuotaResizeResult {
  quota: ReservationRow;
  /** Credits this resize added to the quota (negative when it shrank). */
  added: number;
  balance: number;
  available: number;
}

export interface SettleOp {
  kind: 'settle';
  walletId: string;
  reservationId: string;
  requested: number;
  runId: string | null;
  usage: Record<string, unknown> | null;
}

export interface VoidOp {
  kind: 'void';
  walletId: string;
  reservationId: string;
}

export type BillingOp = AuthorizeOp | SettleOp | VoidOp | QuotaResizeOp | QuotaChargeOp;
export type BillingResult<O extends BillingOp> = O extends AuthorizeOp
  ? AuthorizeResult
  : O extends SettleOp | QuotaChargeOp
    ? SettleResult
    : O extends QuotaResizeOp
      ? QuotaResizeResult
      : VoidResult;
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: AppError };

export function authorizeOp(input: AuthorizeInput): AuthorizeOp {
  return {
    kind: 'authorize',
    walletId: nonEmpty('walletId', input.walletId),
    id: newId('res'),
    amount: credits('amount', input.amount, 1),
    ttlSeconds: credits('ttlSeconds', input.ttlSeconds ?? DEFAULT_RESERVATION_TTL_SECONDS, 1, MAX_RESERVATION_TTL_SECONDS),
    instanceId: optionalString('instanceId', input.instanceId),
    runId: optionalString('runId', input.runId),
  };
}

/** A settle op without its wallet (see `walletOfReservation`). */
export function settleOp(input: SettleInput): Omit<SettleOp, 'walletId'> {
  const usage = input.usage ?? null;
  if (usage !== null && (typeof usage !== 'object' || Array.isArray(usage))) {
    throw invalid('usage must be an object', { field: 'usage' });
  }
  return {
    kind: 'settle',
    reservationId: nonEmpty('reservationId', input.reservationId),
    requested: credits('credits', input.credits, 0),
    runId: optionalString('runId', input.runId),
    usage,
  };
}

export function voidOp(input: { reservationId: string }): Omit<VoidOp, 'walletId'> {
  return { kind: 'void', reservationId: nonEmpty('reservationId', input.reservationId) };
}

/** The wallet a reservation belongs to (immutable, so safe to read outside any lock). */
export async function walletOfReservation(db: Db, reservationId: string): Promise<string> {
  const r = await one<{ wallet_id: string }>(db, 'select wallet_id from reservations where id = ?', [reservationId]);
  if (!r) throw notFound('Reservation');
  return r.wallet_id;
}

// ---------------------------------------------------------------------------------------------
// single operations (a batch of one)

export async function authorize(db: Db, input: AuthorizeInput, deps?: MoneyDeps): Promise<AuthorizeResult> {
  return single(db, authorizeOp(input), deps);
}

export async function settle(db: Db, input: SettleInput, deps?: MoneyDeps): Promise<SettleResult> {
  const op = settleOp(input);
  return single(db, { ...op, walletId: await walletOfReservation(db, op.reservationId) }, deps);
}

/**
 * Releases an open reservation uncharged (a failed run). Voiding a voided reservation replays;
 * voiding an expired one answers it as it is (its budget is already released);
 * voiding a settled one answers RESERVATION_ALREADY_RESOLVED.
 */
export async function voidReservation(db: Db, input: { reservationId: string }, deps?: MoneyDeps): Promise<VoidResult> {
  const op = voidOp(input);
  return single(db, { ...op, walletId: await walletOfReservation(db, op.reservationId) }, deps);
}

async function single<O extends BillingOp>(db: Db, op: O, deps?: MoneyDeps): Promise<BillingResult<O>> {
  const [outcome] = await inTransaction(db, (trx) => executeBatch(trx, [op], { deps, eventsDb: db }));
  if (!outcome.ok) throw outcome.error;
  return outcome.value as BillingResult<O>;
}

export async function getReservation(db: Db, reservationId: string): Promise<ReservationView> {
  const r = await one<ReservationRow>(db, `select ${RESERVATION_COLUMNS} from reservations where id = ?`, [
    nonEmpty('reservationId', reservationId),
  ]);
  if (!r) throw notFound('Reservation');
  return reservationView(r);
}

// ---------------------------------------------------------------------------------------------
// the batch

interface WalletState {
  row: WalletRow;
  balance: number;
  reserved: number;
  paid: number;
  granted: number;
  lastSeq: number;
  dirty: boolean;
}

interface NewLedgerRow {
  id: string;
  walletId: string;
  seq: number;
  creditType: CreditType;
  amount: number;
  balanceAfter: number;
  reservationId: string;
  runId: string | null;
  metadata: string;
}

/**
 * Applies `ops` in order, in the transaction `trx` (which must be a transaction: the wallet
 * locks last until it ends). Returns one outcome per op. Throws only for database failures
 * (then nothing of the batch may be assumed to have happened… or, if the failure hit the
 * COMMIT, to have not happened).
 */
export async function executeBatch(
  trx: Db,
  ops: readonly BillingOp[],
  opts: {
    deps?: MoneyDeps;
    eventsDb?: Db;
    now?: Date;
    /**
     * Take only the wallets no other transaction holds (`SKIP LOCKED`): the ops of a wallet
     * locked elsewhere are answered `WALLET_BUSY` (reason `locked`) with nothing done, and never
     * wait — so one stalled wallet cannot hold up a batch of many wallets.
     */
    skipLocked?: boolean;
  } = {},
): Promise<Outcome<AuthorizeResult | SettleResult | VoidResult | QuotaResizeResult>[]> {
  const now = opts.now ?? nowOf(opts.deps);
  const outcomes: Outcome<AuthorizeResult | SettleResult | VoidResult | QuotaResizeResult>[] = new Array(ops.length);

  // 1. Lock the wallets, in id order.
  const walletIds = [...new Set(ops.map((o) => o.walletId))].sort();
  const lockedRows = await rows<WalletRow>(
    trx,
    `select ${WALLET_COLUMNS} from wallets where id = any(?) order by id for update${opts.skipLocked ? ' skip locked' : ''}`,
    [walletIds],
  );
  const wallets = new Map<string, WalletState>();
  for (const row of lockedRows) {
    wallets.set(row.id, {
      row,
      balance: row.balance,
      reserved: row.reserved,
      paid: row.paid_balance,
      granted: row.granted_balance,
      lastSeq: row.last_seq,
      dirty: false,
    });
  }

  // 2. The reservations involved: by id (settle/void) and by (wallet, run) (authorize replays).
  const resIds: string[] = [];
  const runIds: string[] = [];
  for (const o of ops) {
    if (o.kind === 'authorize') {
      if (o.runId !== null) runIds.push(o.runId);
    } else if (o.kind === 'quota_resize') resIds.push(o.quotaId);
    else if (o.kind === 'quota_charge') {
      resIds.push(o.quotaId);
      runIds.push(o.runId);
    } else resIds.push(o.reservationId);
  }
  const byId = new Map<string, ReservationRow>();
  const byRun = new Map<string, ReservationRow>();
  // A quota run recorded uncharged (voidQuotaRun, under the same wallet lock) is never charged.
  const chargedRunIds = ops.flatMap((o) => (o.kind === 'quota_charge' && wallets.has(o.walletId) ? [o.runId] : []));
  const recordedRuns = new Set(
    chargedRunIds.length ? (await rows<{ id: string }>(trx, `select id from runs where id = any(?)`, [chargedRunIds])).map((r) => r.id) : [],
  );
  const runKey = (walletId: string, runId: string) => `${walletId}\u0000${runId}`;
  if (resIds.length || runIds.length) {
    // Two index lookups glued by UNION ALL — never one OR: with an empty id list the planner
    // picks a sequential scan for the OR form.
    const parts: string[] = [];
    const bindings: string[][] = [];
    if (resIds.length) {
      parts.push(`select ${RESERVATION_COLUMNS} from reservations where id = any(?)`);
      bindings.push(resIds);
    }
    if (runIds.length) {
      parts.push(`select ${RESERVATION_COLUMNS} from reservations where wallet_id = any(?) and run_id = any(?)`);
      bindings.push(walletIds, runIds);
    }
    const found = await rows<ReservationRow>(trx, parts.join(' union all '), bindings);
    for (const r of found) {
      byId.set(r.id, r);
      if (r.run_id !== null) byRun.set(runKey(r.wallet_id, r.run_id), r);
    }
  }

  // 3. Lazy expiry, where it can change an answer: a wallet whose new holds might not fit, or a
  //    reservation being settled/voided after its expiry.
  const expireOn = new Set<string>();
  const demand = new Map<string, number>();
  for (const o of ops) {
    if (o.kind === 'authorize') {
      if (o.runId !== null && byRun.has(runKey(o.walletId, o.runId))) continue;
      demand.set(o.walletId, (demand.get(o.walletId) ?? 0) + o.amount);
    } else {
      const r = byId.get(o.kind === 'quota_resize' || o.kind === 'quota_charge' ? o.quotaId : o.reservationId);
      if (r && r.status === 'open' && r.expires_at.getTime() <= now.getTime()) expireOn.add(r.wallet_id);
      if (o.kind === 'quota_resize' && r && o.target > r.amount) demand.set(o.walletId, (demand.get(o.walletId) ?? 0) + o.target - r.amount);
    }
  }
  for (const [walletId, need] of demand) {
    const w = wallets.get(walletId);
    if (w && w.balance - w.reserved < need) expireOn.add(walletId);
  }
  if (expireOn.size) {
    // A quota with journaled charges not yet applied stays open (journal-guards.ts).
    await lockExpiringQuotas(trx, [...expireOn], now);
    // The runs whose holds expire here are marked `expired` in the same statement.
    const expired = await rows<{ id: string; wallet_id: string; amount: number }>(
      trx,
      `with e as (
         update reservations set status = 'expired', resolved_at = ?
          where wallet_id = any(?) and status = 'open' and expires_at <= ? and ${QUOTA_HAS_NO_PENDING_CHARGES}
          returning id, wallet_id, amount),
       x as (
         update runs set status = 'expired', finished_at = ?, duration_ms = (extract(epoch from (?::timestamptz - started_at)) * 1000)::integer
          where reservation_id in (select id from e) and status = 'running'
          returning 1)
       select e.*, (select count(*) from x) as runs from e`,
      [now, [...expireOn], now, now, now],
    );
    for (const e of expired) {
      const w = wallets.get(e.wallet_id)!;
      w.reserved -= e.amount;
      w.dirty = true;
      const r = byId.get(e.id);
      if (r) {
        r.status = 'expired';
        r.resolved_at = now;
      }
    }
  }

  // 4. Decide, in order.
  const newReservations: ReservationRow[] = [];
  const resolved: ReservationRow[] = [];
  const resized = new Set<ReservationRow>();
  const ledger: NewLedgerRow[] = [];
  const settledHere = new Map<string, SettleResult>();
  const replays: { index: number; r: ReservationRow }[] = [];

  ops.forEach((o, index) => {
    const w = wallets.get(o.walletId);
    if (!w) {
      // Skipped (held elsewhere, or not there: the caller's own path tells which).
      outcomes[index] = opts.skipLocked
        ? { ok: false, error: walletLocked(o.walletId) }
        : { ok: false, error: notFound(o.kind === 'authorize' ? 'Wallet' : 'Reservation') };
      return;
    }
    if (o.kind === 'authorize') {
      outcomes[index] = decideAuthorize(o, w);
      return;
    }
    if (o.kind === 'quota_resize' || o.kind === 'quota_charge') {
      if (o.kind === 'quota_charge') {
        const existing = byRun.get(runKey(o.walletId, o.runId));
        if (!existing && recordedRuns.has(o.runId)) {
          outcomes[index] = { ok: false, error: new AppError('RESERVATION_ALREADY_RESOLVED', 'This run was recorded uncharged', { runId: o.runId }) };
          return;
        }
        if (existing) {
          // Charged before (a retry): the same charge replays, anything else conflicts.
          if (existing.status !== 'settled' || existing.requested !== o.requested || existing.instance_id !== o.instanceId) {
            outcomes[index] = { ok: false, error: new AppError('RESERVATION_ALREADY_RESOLVED', 'This run was already charged or held differently', { reservationId: existing.id, runId: o.runId, status: existing.status }) };
          } else {
            const here = settledHere.get(existing.id);
            if (here) outcomes[index] = { ok: true, value: { ...here, replayed: true } };
            else replays.push({ index, r: existing }); // needs its ledger rows: fetched below
          }
          return;
        }
      }
      const q = byId.get(o.quotaId);
      if (!q || q.wallet_id !== o.walletId || q.kind !== 'quota') {
        outcomes[index] = { ok: false, error: notFound('Quota') };
        return;
      }
      if (q.status === 'settled' || q.status === 'voided') {
        outcomes[index] = { ok: false, error: alreadyResolved(q) };
        return;
      }
      if (q.status === 'expired' || q.expires_at.getTime() <= (o.kind === 'quota_charge' && o.at ? o.at : now).getTime()) {
        outcomes[index] = { ok: false, error: expiredError(q) };
        return;
      }
      outcomes[index] = o.kind === 'quota_resize' ? decideResize(o, q, w) : decideCharge(o, q, w);
      return;
    }
    const r = byId.get(o.reservationId);
    if (!r || r.wallet_id !== o.walletId) {
      outcomes[index] = { ok: false, error: notFound('Reservation') };
      return;
    }
    if (o.kind === 'settle' && r.kind === 'quota') {
      outcomes[index] = { ok: false, error: new AppError('UNPROCESSABLE', 'A credit quota is not settled: its runs are charged against it one by one', { reservationId: r.id }) };
      return;
    }
    if (o.kind === 'void') {
      outcomes[index] = decideVoid(r, w);
      return;
    }
    // settle
    if (r.status === 'settled') {
      if (r.requested !== o.requested || (o.runId !== null && r.run_id !== null && o.runId !== r.run_id)) {
        outcomes[index] = {
          ok: false,
          error: new AppError('RESERVATION_ALREADY_RESOLVED', 'Reservation was already settled with a different charge', {
            reservationId: r.id,
            status: r.status,
            requested: r.requested,
          }),
        };
      } else {
        const here = settledHere.get(r.id);
        if (here) outcomes[index] = { ok: true, value: { ...here, replayed: true } };
        else replays.push({ index, r }); // needs its ledger rows: fetched below
      }
      return;
    }
    if (r.status === 'voided') {
      outcomes[index] = { ok: false, error: alreadyResolved(r) };
      return;
    }
    if (r.status === 'expired' || r.expires_at.getTime() <= now.getTime()) {
      outcomes[index] = { ok: false, error: expiredError(r) };
      return;
    }
    if (o.runId !== null && r.run_id !== null && o.runId !== r.run_id) {
      outcomes[index] = { ok: false, error: invalid('runId does not match the reservation', { field: 'runId', reservationId: r.id }) };
      return;
    }
    outcomes[index] = { ok: true, value: decideSettle(o, r, w) };
  });

  function decideAuthorize(o: AuthorizeOp, w: WalletState): Outcome<AuthorizeResult> {
    if (o.runId !== null) {
      const existing = byRun.get(runKey(o.walletId, o.runId));
      if (existing) {
        if (existing.amount !== o.amount || existing.instance_id !== o.instanceId) {
          return {
            ok: false,
            error: new AppError('IDEMPOTENCY_PAYLOAD_MISMATCH', 'This run already has a reservation with a different budget', {
              reservationId: existing.id,
              runId: existing.run_id,
            }),
          };
        }
        return {
          ok: true,
          value: {
            reservation: reservationView(existing),
            balance: w.balance,
            available: Math.max(0, w.balance - w.reserved),
            replayed: true,
          },
        };
      }
    }
    if (w.balance - w.reserved < o.amount) {
      return {
        ok: false,
        error: new AppError('INSUFFICIENT_CREDITS', 'Not enough credits available for this run', {
          walletId: o.walletId,
          balance: w.balance,
          available: Math.max(0, w.balance - w.reserved),
          requiredBudget: o.amount,
        }),
      };
    }
    const r: ReservationRow = {
      id: o.id,
      wallet_id: o.walletId,
      instance_id: o.instanceId,
      run_id: o.runId,
      amount: o.amount,
      status: 'open',
      expires_at: new Date(now.getTime() + o.ttlSeconds * 1000),
      settled_entry_id: null,
      requested: null,
      charged: null,
      overage: false,
      usage: null,
      resolved_at: null,
      created_at: now,
      kind: o.quota ? 'quota' : 'run',
      holder: o.quota?.holder ?? null,
      use_until: o.quota?.useUntil ?? null,
    };
    w.reserved += o.amount;
    w.dirty = true;
    newReservations.push(r);
    byId.set(r.id, r);
    if (r.run_id !== null) byRun.set(runKey(r.wallet_id, r.run_id), r);
    return {
      ok: true,
      value: { reservation: reservationView(r), balance: w.balance, available: w.balance - w.reserved, replayed: false },
    };
  }

  function decideVoid(r: ReservationRow, w: WalletState): Outcome<VoidResult> {
    if (r.status === 'settled') return { ok: false, error: alreadyResolved(r) };
    if (r.status !== 'open') return { ok: true, value: { reservation: reservationView(r), replayed: true } };
    if (r.expires_at.getTime() <= now.getTime()) {
      // Expired in step 3 already; answered as it is.
      return { ok: true, value: { reservation: reservationView({ ...r, status: 'expired', resolved_at: now }), replayed: true } };
    }
    r.status = 'voided';
    r.resolved_at = now;
    w.reserved -= r.amount;
    w.dirty = true;
    resolved.push(r);
    return { ok: true, value: { reservation: reservationView(r), replayed: false } };
  }

  function decideSettle(o: SettleOp, r: ReservationRow, w: WalletState): SettleResult {
    // Never more than the hold: the hold is the run's maximum (and it was available when taken).
    const availableIncl = w.balance - w.reserved + r.amount;
    const charged = Math.min(o.requested, r.amount, availableIncl);
    const overage = o.requested > r.amount || charged < o.requested;
    w.reserved -= r.amount;
    resolved.push(r);
    return debit(w, r, o.requested, charged, overage, r.run_id ?? o.runId, o.usage);
  }

  /** Debits `charged` from `w` for reservation `r` (granted credits first) and marks `r` settled. */
  function debit(w: WalletState, r: ReservationRow, requested: number, charged: number, overage: boolean, runId: string | null, usage: Record<string, unknown> | null): SettleResult {
    const byType: Record<CreditType, number> = { granted: 0, paid: 0 };
    let left = charged;
    for (const t of SPEND_ORDER) {
      byType[t] = Math.min(left, t === 'granted' ? w.granted : w.paid);
      left -= byType[t];
    }
    if (left !== 0) throw new AppError('INTERNAL', 'Wallet split does not cover the charge'); // rolls back
    const parts = SPEND_ORDER.filter((t) => byType[t] > 0);
    if (parts.length === 0) parts.push(SPEND_ORDER[0]); // a zero charge still gets its entry
    const metadata = JSON.stringify(usage === null ? {} : { usage });
    const entries: SettleEntry[] = [];
    for (const t of parts) {
      w.balance -= byType[t];
      if (t === 'granted') w.granted -= byType[t];
      else w.paid -= byType[t];
      w.lastSeq += 1;
      const e = { id: newId('led', now.getTime()), creditType: t, amount: 0 - byType[t], seq: w.lastSeq };
      entries.push(e);
      ledger.push({ ...e, walletId: w.row.id, balanceAfter: w.balance, reservationId: r.id, runId, metadata });
    }
    w.dirty = true;
    r.status = 'settled';
    r.settled_entry_id = entries[0].id;
    r.requested = requested;
    r.charged = charged;
    r.overage = overage;
    r.usage = usage;
    r.run_id = runId;
    r.resolved_at = now;
    const result: SettleResult = {
      reservationId: r.id,
      walletId: w.row.id,
      runId,
      ledgerEntryId: entries[0].id,
      ledgerEntryIds: entries.map((e) => e.id),
      entries,
      reserved: r.amount,
      requested,
      charged,
      chargedGranted: byType.granted,
      chargedPaid: byType.paid,
      overage,
      balanceAfter: w.balance,
      replayed: false,
    };
    settledHere.set(r.id, result);
    return result;
  }

  function decideResize(o: QuotaResizeOp, q: ReservationRow, w: WalletState): Outcome<QuotaResizeResult> {
    const amount = Math.max(0, Math.min(o.target, q.amount + (w.balance - w.reserved)));
    const added = amount - q.amount;
    w.reserved += added;
    w.dirty = true;
    q.amount = amount;
    q.use_until = o.useUntil;
    q.expires_at = o.expiresAt;
    resized.add(q);
    return { ok: true, value: { quota: { ...q }, added, balance: w.balance, available: w.balance - w.reserved } };
  }

  function decideCharge(o: QuotaChargeOp, q: ReservationRow, w: WalletState): Outcome<SettleResult> {
    if (q.instance_id !== o.instanceId) {
      return { ok: false, error: new AppError('UNPROCESSABLE', 'The quota is for another instance', { quotaId: q.id, instanceId: o.instanceId }) };
    }
    if (o.hold > q.amount) {
      // The holder admitted more than it was granted: refused, nothing charged.
      return { ok: false, error: new AppError('INSUFFICIENT_CREDITS', 'The run\'s hold is larger than what is left of its quota', { quotaId: q.id, walletId: q.wallet_id, quotaLeft: q.amount, requiredBudget: o.hold }) };
    }
    const charged = Math.min(o.requested, o.hold);
    const r: ReservationRow = {
      id: o.id, wallet_id: o.walletId, instance_id: o.instanceId, run_id: o.runId, amount: o.hold, status: 'open', expires_at: now,
      settled_entry_id: null, requested: null, charged: null, overage: false, usage: null, resolved_at: null, created_at: now,
      kind: 'run', holder: null, use_until: null,
    };
    // The charge moves from the quota's hold to the ledger: reserved and balance drop together.
    q.amount -= charged;
    w.reserved -= charged;
    resized.add(q);
    const result = debit(w, r, o.requested, charged, o.requested > o.hold, o.runId, o.usage);
    newReservations.push(r);
    byId.set(r.id, r);
    byRun.set(runKey(r.wallet_id, o.runId), r);
    const walletAfter: WalletRow = { ...w.row, balance: w.balance, reserved: w.reserved, paid_balance: w.paid, granted_balance: w.granted, last_seq: w.lastSeq };
    return { ok: true, value: { ...result, quotaLeft: q.amount, walletAfter } };
  }


  // Replays of settles committed earlier: answered from their ledger rows.
  if (replays.length) {
    const debits = await rows<LedgerRow>(
      trx,
      `select * from ledger_entries where reservation_id = any(?) and kind = 'debit' order by seq`,
      [[...new Set(replays.map((x) => x.r.id))]],
    );
    for (const { index, r } of replays) {
      const mine = debits.filter((d) => d.reservation_id === r.id);
      if (mine.length === 0 || mine[0].id !== r.settled_entry_id) {
        throw new AppError('INTERNAL', 'Settled reservation without its ledger entry');
      }
      outcomes[index] = { ok: true, value: settleReplay(r, mine) };
    }
  }

  // 5. Write everything in one statement.
  const dirty = [...wallets.values()].filter((w) => w.dirty);
  // A quota resolved in this batch is written by its resolution (with its last amount).
  const quotas = [...resized].filter((q) => q.status === 'open');
  if (newReservations.length || ledger.length || resolved.length || dirty.length || quotas.length) {
    await writeBatch(trx, now, newReservations, ledger, resolved, dirty, quotas);
  }

  // 6. Low-balance events, after commit.
  for (const w of dirty) {
    const after: WalletRow = { ...w.row, balance: w.balance, reserved: w.reserved, paid_balance: w.paid, granted_balance: w.granted };
    lowBalanceTransition(opts.eventsDb ?? trx, opts.deps, { balance: w.row.balance, threshold: w.row.low_balance_threshold }, after, now);
  }
  return outcomes;
}

async function writeBatch(
  trx: Db,
  now: Date,
  inserts: ReservationRow[],
  ledger: NewLedgerRow[],
  resolved: ReservationRow[],
  wallets: WalletState[],
  quotas: ReservationRow[] = [],
): Promise<void> {
  const parts: string[] = [];
  const counts: string[] = [];
  const b: (string | number | boolean | Date | null)[] = [];
  if (inserts.length) {
    // Holds are inserted open; a run charged against a quota is inserted already settled.
    parts.push(`ins_r as (
      insert into reservations (id, wallet_id, instance_id, run_id, amount, status, expires_at, created_at, kind, holder, use_until,
                                settled_entry_id, requested, charged, overage, usage, resolved_at)
      values ${inserts.map(() => `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)`).join(', ')}
      returning 1)`);
    for (const r of inserts) {
      b.push(
        r.id, r.wallet_id, r.instance_id, r.run_id, r.amount, r.status, r.expires_at, r.created_at, r.kind, r.holder, r.use_until,
        r.settled_entry_id, r.requested, r.charged, r.overage, r.usage === null ? null : JSON.stringify(r.usage), r.resolved_at,
      );
    }
    counts.push('(select count(*) from ins_r) as ins_r');
  }
  if (quotas.length) {
    parts.push(`upd_q as (
      update reservations r set amount = v.amount, expires_at = v.exp, use_until = v.until
        from (values ${quotas.map(() => `(?::text, ?::bigint, ?::timestamptz, ?::timestamptz)`).join(', ')}) as v(id, amount, exp, until)
       where r.id = v.id and r.status = 'open' and r.kind = 'quota'
      returning 1)`);
    for (const q of quotas) b.push(q.id, q.amount, q.expires_at, q.use_until);
    counts.push('(select count(*) from upd_q) as upd_q');
  }
  if (ledger.length) {
    parts.push(`ins_l as (
      insert into ledger_entries (id, wallet_id, seq, kind, credit_type, amount, balance_after, reservation_id, run_id, metadata, created_at)
      values ${ledger.map(() => `(?, ?, ?, 'debit', ?, ?, ?, ?, ?, ?::jsonb, ?)`).join(', ')}
      returning 1)`);
    for (const l of ledger) {
      b.push(l.id, l.walletId, l.seq, l.creditType, l.amount, l.balanceAfter, l.reservationId, l.runId, l.metadata, now);
    }
    counts.push('(select count(*) from ins_l) as ins_l');
  }
  if (resolved.length) {
    parts.push(`upd_r as (
      update reservations r set status = v.status, settled_entry_id = v.eid, requested = v.req, charged = v.ch,
             overage = v.ov, usage = v.usage, run_id = v.run, resolved_at = v.at, amount = v.amount
        from (values ${resolved
          .map(() => `(?::text, ?::text, ?::text, ?::bigint, ?::bigint, ?::boolean, ?::jsonb, ?::text, ?::timestamptz, ?::bigint)`)
          .join(', ')}) as v(id, status, eid, req, ch, ov, usage, run, at, amount)
       where r.id = v.id and r.status = 'open'
      returning 1)`);
    for (const r of resolved) {
      b.push(
        r.id, r.status, r.settled_entry_id, r.requested, r.charged, r.overage,
        r.usage === null ? null : JSON.stringify(r.usage), r.run_id, r.resolved_at, r.amount,
      );
    }
    counts.push('(select count(*) from upd_r) as upd_r');
  }
  if (wallets.length) {
    parts.push(`upd_w as (
      update wallets w set balance = v.balance, reserved = v.reserved, paid_balance = v.paid, granted_balance = v.granted,
             last_seq = v.last_seq, version = w.version + 1, updated_at = v.at
        from (values ${wallets
          .map(() => `(?::text, ?::bigint, ?::bigint, ?::bigint, ?::bigint, ?::bigint, ?::timestamptz)`)
          .join(', ')}) as v(id, balance, reserved, paid, granted, last_seq, at)
       where w.id = v.id
      returning 1)`);
    for (const w of wallets) b.push(w.row.id, w.balance, w.reserved, w.paid, w.granted, w.lastSeq, now);
    counts.push('(select count(*) from upd_w) as upd_w');
  }
  const got = await one<Record<string, number>>(trx, `with ${parts.join(',\n')} select ${counts.join(', ')}`, b);
  const want: Record<string, number> = { ins_r: inserts.length, ins_l: ledger.length, upd_r: resolved.length, upd_w: wallets.length, upd_q: quotas.length };
  for (const k of Object.keys(got ?? {})) {
    if (got![k] !== want[k]) throw new AppError('INTERNAL', `Billing batch wrote ${got![k]} ${k} rows, expected ${want[k]}`);
  }
}

function settleReplay(r: ReservationRow, debits: LedgerRow[]): SettleResult {
  const by = (t: CreditType) => 0 - debits.filter((d) => d.credit_type === t).reduce((s, d) => s + d.amount, 0);
  return {
    reservationId: r.id,
    walletId: r.wallet_id,
    runId: r.run_id,
    ledgerEntryId: debits[0].id,
    ledgerEntryIds: debits.map((d) => d.id),
    entries: debits.map((d) => ({ id: d.id, creditType: d.credit_type, amount: d.amount, seq: d.seq })),
    reserved: r.amount,
    requested: r.requested as number,
    charged: r.charged as number,
    chargedGranted: by('granted'),
    chargedPaid: by('paid'),
    overage: r.overage,
    balanceAfter: debits[debits.length - 1].balance_after,
    replayed: true,
  };
}

/** A wallet another transaction holds, skipped by a `skipLocked` batch (nothing was done). */
export function walletLocked(walletId: string): AppError {
  return walletBusy(walletId, 'locked');
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
