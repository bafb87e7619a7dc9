/**
 * Per-wallet batching of the run use cases (authorizeRun / settleRun / voidRun): many runs of
 * one wallet share one transaction — one wallet lock wait, one audit chain-head lock, one COMMIT
 * (one WAL flush) — instead of one each. Every change to a wallet is serialised by its row lock
 * anyway, so a hot wallet's transactions queue there; here they queue in memory and the next
 * transaction takes all that queued (up to `maxBatch`). At low load a call runs at once, alone.
 *
 * Same rules and answers as one call in its own transaction: the jobs of a batch run one after
 * the other on the same transaction, each seeing the effects of those before it, exactly as if
 * they had been serialised by the lock.
 *
 * Bounds (bounds.ts): each job carries its caller's deadline. Jobs already past it are refused
 * 503 `WALLET_BUSY` before they start; `lock_timeout` ≤ 1 s; right before COMMIT, if a job's
 * deadline has passed the whole transaction rolls back, those jobs are answered `WALLET_BUSY` and
 * the others run again in a new batch — so nothing commits for a caller that has given up.
 *
 * Failures: a job that throws rolls the batch back (nothing of it committed); with more than one
 * job, each is then run alone so one bad call cannot fail its neighbours. A lock or statement
 * timeout answers every job `WALLET_BUSY` (retryable, nothing committed) without retrying them
 * one by one — a stuck wallet costs its callers one lock timeout, not one each. An error during
 * COMMIT leaves the outcome unknown: every job gets it, and callers retry idempotently (same
 * runId / reservationId), as for a single call.
 *
 * Isolation: batches are per wallet, so a wallet whose row is locked elsewhere only holds up its
 * own queue; other wallets' batches run on their own connections.
 */
import type { Knex } from 'knex';
import { recordAudits } from '../audit';
import type { AuditInput } from '../audit/event';
import { isTransaction, sqlState, SQLSTATE, type Db } from '../db/tx';
import { boundStatements, DEFAULT_BUDGET_MS, walletBusy, walletGate, type MoneyBounds, type WalletGate } from './bounds';
import { checkDeadlines, DeadlinePassed, deadlineSpan, DeadlineQueues, stillWaiting } from './deadline-queues';

const QUERY_CANCELED = '57014';

/** What a job may do besides its statements: append audit events, recorded once per batch. */
export interface BatchScope {
  audit(input: AuditInput): void;
}

export type WalletJob<T> = (trx: Knex.Transaction, scope: BatchScope) => Promise<T>;

interface Pending {
  walletId: string;
  work: WalletJob<unknown>;
  deadline: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface WalletBatcherStats {
  batches: number;
  jobs: number;
  largestBatch: number;
  isolatedRetries: number;
}


export class WalletBatcher {
  private readonly queues: DeadlineQueues<Pending>;
  readonly stats: WalletBatcherStats = { batches: 0, jobs: 0, largestBatch: 0, isolatedRetries: 0 };

  constructor(
    private readonly opts: { maxBatch?: number; gate?: WalletGate } = {},
  ) {
    this.queues = new DeadlineQueues({ maxBatch: () => this.opts.maxBatch ?? 64, expired: (p) => walletBusy(p.walletId, 'queue') });
  }

  /**
   * Runs `work` on `walletId`'s behalf in a (possibly shared) transaction on `db`. When `db`
   * already is a transaction (an Idempotency-Key wrapper), `work` joins it and its audit events
   * are recorded at once: the outer transaction owns the commit.
   */
  async run<T>(db: Db, walletId: string, bounds: MoneyBounds, work: WalletJob<T>): Promise<T> {
    if (isTransaction(db)) {
      const events: AuditInput[] = [];
      const result = await work(db, { audit: (e) => void events.push(e) });
      await recordAudits(db, events);
      return result;
    }
    const deadline = bounds.deadline ?? Date.now() + DEFAULT_BUDGET_MS;
    if (Date.now() >= deadline) throw walletBusy(walletId, 'deadline');
    // One queue per (database, wallet): tests run several databases in one process.
    const key = `${dbKey(db as Knex)}\u0000${walletId}`;
    return new Promise<T>((resolve, reject) => {
      this.queues.push(key, { walletId, work: work as WalletJob<unknown>, deadline, resolve: resolve as (v: unknown) => void, reject }, (batch) => this.runBatch(db as Knex, walletId, batch));
    });
  }

  /** Runs one batch; answers the jobs to run again (those whose neighbours' deadline passed). */
  private async runBatch(db: Knex, walletId: string, batch: Pending[]): Promise<Pending[]> {
    this.stats.batches++;
    this.stats.jobs += batch.length;
    if (batch.length > this.stats.largestBatch) this.stats.largestBatch = batch.length;
    const { first, last } = deadlineSpan(batch);
    let release: () => void;
    try {
      release = await (this.opts.gate ?? walletGate).acquire(walletId, first);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return [];
    }
    let committing = false;
    let results: unknown[] = [];
    try {
      await db.transaction(async (trx) => {
        await boundStatements(trx, first, last);
        const events: AuditInput[] = [];
        const scope: BatchScope = { audit: (e) => void events.push(e) };
        results = [];
        for (const p of batch) results.push(await p.work(trx, scope));
        await recordAudits(trx, events);
        checkDeadlines(batch);
        committing = true;
      });
    } catch (err) {
      if (err instanceof DeadlinePassed) return stillWaiting(batch, () => walletBusy(walletId, 'deadline'));
      const state = sqlState(err);
      if (!committing && state === SQLSTATE.LOCK_NOT_AVAILABLE) return this.failAll(batch, walletBusy(walletId, 'lock_timeout', err));
      if (!committing && state === QUERY_CANCELED) return this.failAll(batch, walletBusy(walletId, 'statement_timeout', err));
      if (!committing && batch.length > 1) {
        // Nothing of the batch committed: run each alone so only the bad one fails.
        this.stats.isolatedRetries++;
        release!();
        release = () => {};
        for (const p of batch) await this.runBatch(db, walletId, [p]);
        return [];
      }
      return this.failAll(batch, err);
    } finally {
      release!();
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]);
    return [];
  }

  private failAll(batch: Pending[], err: unknown): Pending[] {
    for (const p of batch) p.reject(err);
    return [];
  }
}

const ids = new WeakMap<object, number>();
let nextId = 0;
function dbKey(db: Knex): number {
  const client = (db as unknown as { client: object }).client;
  let id = ids.get(client);
  if (id === undefined) ids.set(client, (id = ++nextId));
  return id;
}

/** The process's batcher (one per Control Plane process, like the wallet gate). */
export const walletBatcher = new WalletBatcher();
