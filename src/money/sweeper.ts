/**
 * Background sweepers for a long-running service: expire overdue reservations (releasing their
 * budget, marking their runs `expired`), purge expired idempotency keys, and delete the bodies of
 * runs past their retention, with their files (`chat_ui.sessionRetentionDays`, src/runs/history.ts), and expire what is left
 * of a purchased plan period's included credits at its end (src/money/plan-credits.ts; unlike the
 * others, that one is a money effect only the sweeper makes). Correctness never depends on them — authorize,
 * settle, void and getWallet expire lazily, and runIdempotent ignores expired keys — they keep
 * the tables small and `reserved` current for readers.
 */
import type { Knex } from 'knex';
import { purgeExpiredIdempotencyKeys } from '../platform/idempotency';
import { purgeExpiredRunBodies } from '../runs/history';
import type { ObjectStore } from '../storage/object-store';
import { expireReservations } from './billing';
import { expireDuePlanPeriods } from './plan-credits';
import { purgeAppliedJournal } from './usage-journal';
import type { MoneyDeps } from './types';

export type SweeperName = 'reservations' | 'idempotency_keys' | 'run_bodies' | 'plan_periods' | 'usage_journal';

export interface SweeperOptions {
  /** Default 5 s. */
  reservationsEveryMs?: number;
  /** Default 1 h. */
  idempotencyKeysEveryMs?: number;
  /** Default 60 s. */
  runBodiesEveryMs?: number;
  /** Default 60 s: what is left of a purchased period's included credits expires at its end. */
  planPeriodsEveryMs?: number;
  /** Where runs' files live (attachments, spoken answers): deleted with their bodies. */
  objectStore?: ObjectStore;
  onError?: (err: unknown, sweeper: SweeperName) => void;
  onSwept?: (what: { sweeper: SweeperName; count: number }) => void;
}

export interface Sweepers {
  /** Stops both loops and waits for a sweep in progress to finish. */
  stop(): Promise<void>;
}

export function startMoneySweepers(db: Knex, opts: SweeperOptions = {}, deps?: MoneyDeps): Sweepers {
  let stopped = false;
  const running: Promise<void>[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const loop = (name: SweeperName, everyMs: number, sweep: () => Promise<number>) => {
    const tick = () => {
      if (stopped) return;
      const p = sweep()
        .then((count) => {
          if (count > 0) opts.onSwept?.({ sweeper: name, count });
        })
        .catch((err: unknown) => opts.onError?.(err, name))
        .finally(() => {
          running.splice(running.indexOf(p), 1);
          schedule();
        });
      running.push(p);
    };
    const schedule = () => {
      if (stopped) return;
      const t = setTimeout(() => {
        timers.delete(t);
        tick();
      }, everyMs);
      t.unref();
      timers.add(t);
    };
    schedule();
  };
  loop('reservations', opts.reservationsEveryMs ?? 5_000, async () => (await expireReservations(db, {}, deps)).expired);
  loop('idempotency_keys', opts.idempotencyKeysEveryMs ?? 3_600_000, () => purgeExpiredIdempotencyKeys(db));
  loop('run_bodies', opts.runBodiesEveryMs ?? 60_000, () => purgeExpiredRunBodies(db, { objectStore: opts.objectStore }));
  loop('plan_periods', opts.planPeriodsEveryMs ?? 60_000, () => expireDuePlanPeriods(db, deps));
  // Applied usage-journal rows older than a day (usage-journal.ts): no gateway retries them any more.
  loop('usage_journal', opts.idempotencyKeysEveryMs ?? 3_600_000, () => purgeAppliedJournal(db));
  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all([...running]);
    },
  };
}
