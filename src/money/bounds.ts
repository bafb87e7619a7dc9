/**
 * Bounded money transactions: no money transaction waits long on a wallet, none commits for a
 * caller that has given up, and one stuck wallet cannot hold the connection pool.
 *
 * The rule (the Gateway relies on it to report a run "uncharged" truthfully):
 * - A caller sends its deadline as `X-Request-Timeout-Ms` — its own per-attempt timeout minus a
 *   margin (the Gateway: 5 s attempts, 4 s sent). The Control Plane takes `arrival + budget` as the
 *   deadline and checks it **inside the transaction, right before COMMIT**; past it, the
 *   transaction rolls back and the answer is 503 `WALLET_BUSY`. So a settle commits only while its
 *   caller is still waiting, with the margin (1 s) to spare for the COMMIT itself; once the caller
 *   has given up on its last attempt, no attempt of it can commit any more, and the reservation
 *   is released by the caller's void or by its expiry.
 * - Every statement of the transaction is bounded: `lock_timeout` ≤ 1 s (a wallet locked by
 *   something else) and `statement_timeout` = what is left of the deadline; either turns into 503
 *   `WALLET_BUSY` (retryable; nothing was committed).
 * - At most `perWallet` (4) transactions of one wallet hold a database connection at once in this
 *   process; further callers of that wallet wait in memory (no connection) until a slot frees or
 *   their deadline passes (503 `WALLET_BUSY`). Other wallets' transactions never queue behind a
 *   stuck one, so they keep their latency.
 */
import type { Knex } from 'knex';
import { isTransaction, sqlState, SQLSTATE, type Db } from '../db/tx';
import { AppError } from '../platform/errors';

export const DEFAULT_LOCK_TIMEOUT_MS = 1_000;
/** Without a caller deadline, a money transaction may take this long. */
export const DEFAULT_BUDGET_MS = 10_000;
export const DEFAULT_PER_WALLET = 4;
const QUERY_CANCELED = '57014';

export interface MoneyBounds {
  /** Epoch ms (this process's clock) after which nothing may commit. */
  deadline?: number;
}

/** The deadline a request's `X-Request-Timeout-Ms` gives, measured from its arrival. */
export function deadlineFrom(timeoutMs: number | undefined, arrivedAt = Date.now()): MoneyBounds {
  return timeoutMs === undefined ? {} : { deadline: arrivedAt + timeoutMs };
}

/** 503 WALLET_BUSY (retryable: nothing was committed), with why. */
export const walletBusy = (walletId: string, reason: 'lock_timeout' | 'statement_timeout' | 'deadline' | 'queue' | 'locked', cause?: unknown) =>
  new AppError('WALLET_BUSY', 'The wallet is busy; nothing was committed, retry', { walletId, reason }, cause === undefined ? undefined : { cause });

/**
 * Bounds every statement of the transaction `trx`: `lock_timeout` ≤ 1 s and never past the
 * earliest deadline, `statement_timeout` what is left of the latest (both local to `trx`).
 */
export async function boundStatements(trx: Knex.Transaction, firstDeadline: number, lastDeadline: number): Promise<void> {
  const now = Date.now();
  await trx.raw(`select set_config('lock_timeout', ?, true), set_config('statement_timeout', ?, true)`, [
    `${Math.min(DEFAULT_LOCK_TIMEOUT_MS, Math.max(1, firstDeadline - now))}ms`,
    `${Math.max(1, lastDeadline - now)}ms`,
  ]);
}

/** Per-wallet admission of transactions in this process (see the module comment). */
export class WalletGate {
  private readonly slots = new Map<string, { active: number; waiting: (() => void)[] }>();
  constructor(readonly perWallet = DEFAULT_PER_WALLET) {}

  async acquire(walletId: string, deadline: number): Promise<() => void> {
    let s = this.slots.get(walletId);
    if (!s) this.slots.set(walletId, (s = { active: 0, waiting: [] }));
    const slot = s;
    if (slot.active >= this.perWallet) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          const i = slot.waiting.indexOf(wake);
          if (i >= 0) slot.waiting.splice(i, 1);
          reject(walletBusy(walletId, 'queue'));
        }, Math.max(0, deadline - Date.now()));
        slot.waiting.push(wake);
      });
    }
    slot.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      slot.active--;
      const next = slot.waiting.shift();
      if (next) next();
      else if (slot.active === 0) this.slots.delete(walletId);
    };
  }

  /** Transactions of `walletId` holding a connection now (tests). */
  active(walletId: string): number {
    return this.slots.get(walletId)?.active ?? 0;
  }
}

/** The process's gate (one per Control Plane process). */
export const walletGate = new WalletGate();

/**
 * Runs `work` in a transaction on `walletId`'s behalf, bounded as the module comment says. When
 * `db` already is a transaction (an Idempotency-Key wrapper), `work` joins it unbounded: the
 * outer transaction owns the commit.
 */
export async function boundedTransaction<T>(db: Db, walletId: string, bounds: MoneyBounds, work: (trx: Knex.Transaction) => Promise<T>, gate: WalletGate = walletGate): Promise<T> {
  if (isTransaction(db)) return work(db);
  const deadline = bounds.deadline ?? Date.now() + DEFAULT_BUDGET_MS;
  if (Date.now() >= deadline) throw walletBusy(walletId, 'deadline');
  const release = await gate.acquire(walletId, deadline);
  try {
    return await (db as Knex).transaction(async (trx) => {
      await boundStatements(trx, deadline, deadline);
      const result = await work(trx);
      // The caller gives up at its deadline (+ its margin): never commit for a caller that left.
      if (Date.now() >= deadline) throw walletBusy(walletId, 'deadline');
      return result;
    });
  } catch (err) {
    const state = sqlState(err);
    if (state === SQLSTATE.LOCK_NOT_AVAILABLE) throw walletBusy(walletId, 'lock_timeout', err);
    if (state === QUERY_CANCELED) throw walletBusy(walletId, 'statement_timeout', err);
    throw err;
  } finally {
    release();
  }
}
