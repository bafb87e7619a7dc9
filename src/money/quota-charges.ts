/**
 * The charge combiner: quota runs' charges of any wallets, waiting at the same moment, are made
 * in one transaction — one engine batch (`executeBatch`: one lock statement, one read, one
 * write for all of them), one multi-row insert of their run records (and the low-balance notice
 * of a charge that crossed its wallet's threshold), one append of their audit events, one
 * COMMIT. Many transfers per commit, after TigerBeetle; the next transaction takes whatever
 * arrived while this one ran, so the batch grows with the load and is one charge when the
 * machine is idle.
 *
 * The rules every money transaction keeps still hold:
 * - Wallet locks are taken `SKIP LOCKED`: a wallet held by another transaction is not waited
 *   for. Its charges go again in the next combined transaction (after a short pause when they
 *   are all that is left), up to `MAX_SKIPS` times — the holder is usually a short one (a quota
 *   renewal) — and only then are answered `fallback` and made alone on the wallet's own batcher,
 *   which waits for it within the caller's deadline. One stalled wallet never holds up the
 *   others. (Falling back at the first skip fed itself on a hot wallet: the fallbacks' own
 *   transactions held the lock the next combined transaction then skipped.)
 * - Each charge carries its caller's deadline; right before COMMIT, if any has passed, the
 *   transaction rolls back, those charges are answered `WALLET_BUSY` and the rest go again.
 *   `lock_timeout` (≤ 1 s) and `statement_timeout` (what is left of the latest deadline) bound
 *   every statement.
 * - A transaction that fails answers every charge in it `fallback`: each is then made alone, so
 *   one bad charge cannot fail its neighbours. An error during COMMIT leaves the outcome
 *   unknown, so there every charge gets the error, and the gateway retries idempotently (same
 *   reservation and run id: a committed charge replays).
 * One combiner per Control Plane process (and per database), like the wallet batcher.
 */
import type { Knex } from 'knex';
import { recordAudits } from '../audit';
import type { AuditInput } from '../audit/event';
import { AppError } from '../platform/errors';
import { executeBatch, type Outcome, type SettleResult } from './billing';
import { boundStatements, DEFAULT_BUDGET_MS, walletBusy, type MoneyBounds } from './bounds';
import { checkDeadlines, DeadlinePassed, deadlineSpan, DeadlineQueues, stillWaiting } from './deadline-queues';
import { chargeRecord, writeChargeRecords, type PreparedCharge } from './quotas';
import { nowOf, type MoneyDeps } from './types';
import { walletView } from './wallets';

export type CombinedAnswer = { kind: 'done'; outcome: Outcome<SettleResult>; now: Date } | { kind: 'fallback' };

interface Pending {
  charge: PreparedCharge;
  deadline: number;
  /** Combined transactions that found the charge's wallet locked. */
  skips: number;
  money?: MoneyDeps;
  resolve: (a: CombinedAnswer) => void;
  reject: (e: unknown) => void;
}

export interface QuotaChargeStats {
  transactions: number;
  charges: number;
  largest: number;
  fallbacks: number;
  /** Charges put back for the next combined transaction (their wallet was locked). */
  skipped: number;
}

const busy = (walletId: string) => walletBusy(walletId, 'deadline');

/** Combined transactions a charge may find its wallet locked in before it is made alone. */
export const MAX_SKIPS = 3;
/** The pause before a round of nothing but charges whose wallet was locked (no busy loop on a stalled wallet). */
const SKIP_PAUSE_MS = 2;
/** A charge with less time than this left is made alone at once (the batcher waits for the lock within it). */
const SKIP_MIN_LEFT_MS = 1_000;

export class QuotaChargeCombiner {
  private readonly queues: DeadlineQueues<Pending>;
  readonly stats: QuotaChargeStats = { transactions: 0, charges: 0, largest: 0, fallbacks: 0, skipped: 0 };

  constructor(private readonly opts: { maxBatch?: number } = {}) {
    this.queues = new DeadlineQueues({ maxBatch: () => this.opts.maxBatch ?? 256, expired: (p) => busy(p.charge.op.walletId) });
  }

  submit(db: Knex, charge: PreparedCharge, bounds: MoneyBounds, money?: MoneyDeps): Promise<CombinedAnswer> {
    const deadline = bounds.deadline ?? Date.now() + DEFAULT_BUDGET_MS;
    if (Date.now() >= deadline) return Promise.reject(busy(charge.op.walletId));
    return new Promise<CombinedAnswer>((resolve, reject) => {
      // One queue per database (tests run several in one process).
      this.queues.push((db as unknown as { client: object }).client, { charge, deadline, skips: 0, money, resolve, reject }, (batch) => this.run(db, batch));
    });
  }

  /** One combined transaction; answers the charges to try again (their neighbours' deadline passed). */
  private async run(db: Knex, batch: Pending[]): Promise<Pending[]> {
    this.stats.transactions++;
    this.stats.charges += batch.length;
    if (batch.length > this.stats.largest) this.stats.largest = batch.length;
    const { first, last } = deadlineSpan(batch);
    const money = batch[0]!.money;
    const now = nowOf(money);
    let outcomes: Outcome<SettleResult>[] = [];
    let committing = false;
    try {
      await db.transaction(async (trx) => {
        await boundStatements(trx, first, last);
        outcomes = (await executeBatch(trx, batch.map((p) => p.charge.op), { deps: money, eventsDb: db, now, skipLocked: true })) as Outcome<SettleResult>[];
        const records: ReturnType<typeof chargeRecord>[] = [];
        outcomes.forEach((o, i) => {
          if (o.ok && !o.value.replayed) records.push(chargeRecord(batch[i]!.charge, o.value, walletView(o.value.walletAfter!), now));
        });
        // The engine refused runs recorded uncharged under these same locks: every row is new.
        const written = await writeChargeRecords(trx, records);
        if (written.size !== records.length) throw new AppError('INTERNAL', 'A charged run already had a record');
        await recordAudits(trx, records.map((r): AuditInput => r.audit));
        checkDeadlines(batch);
        committing = true;
      });
    } catch (err) {
      if (err instanceof DeadlinePassed) return stillWaiting(batch, (p) => busy(p.charge.op.walletId));
      if (committing) {
        // The COMMIT failed: whether it happened is unknown. The caller retries idempotently.
        for (const p of batch) p.reject(err);
        return [];
      }
      // Nothing committed: each charge is made alone (a lock or statement timeout included).
      this.stats.fallbacks += batch.length;
      for (const p of batch) p.resolve({ kind: 'fallback' });
      return [];
    }
    const again: Pending[] = [];
    const at = Date.now();
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (!o.ok && o.error instanceof AppError && o.error.code === 'WALLET_BUSY' && o.error.details?.reason === 'locked') {
        if (++p.skips < MAX_SKIPS && p.deadline - at > SKIP_MIN_LEFT_MS) {
          this.stats.skipped++;
          again.push(p);
          return;
        }
        this.stats.fallbacks++;
        p.resolve({ kind: 'fallback' });
      } else p.resolve({ kind: 'done', outcome: o, now });
    });
    // Nothing but locked wallets this round: give their holders a moment before the next one.
    if (again.length === batch.length) await new Promise((r) => setTimeout(r, SKIP_PAUSE_MS));
    return again;
  }
}

/** The process's combiner (one per Control Plane process). */
export const quotaCharges = new QuotaChargeCombiner();
