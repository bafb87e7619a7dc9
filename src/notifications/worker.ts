/**
 * The outbox worker: claims due notifications (outbox.ts `claimDue`: a lease taken with
 * `FOR UPDATE SKIP LOCKED`, so control-plane replicas never deliver one row at the same time and
 * a crashed worker's rows come back when the lease runs out), delivers each on its channel and
 * records the attempt (delivered, retried after an exponential backoff with jitter, or dead after
 * the last attempt). Woken at once by `kick` (a notification was committed), else every `pollMs`.
 * `stop` aborts the attempts in flight and gives their leases back.
 */
import type { Knex } from 'knex';
import { createLeasedWorker, type LeasedWorker } from '../platform/leased-worker';
import type { Logger } from '../platform/logger';
import { claimDue, recordAttempt, releaseLeases, type AttemptOutcome, type NotificationChannel, type OutboxRow } from './outbox';

export type ChannelDeliver = (row: OutboxRow, signal?: AbortSignal) => Promise<AttemptOutcome>;

export interface NotificationWorkerOptions {
  db: Knex;
  channels: Record<NotificationChannel, ChannelDeliver>;
  log: Logger;
  pollMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Longer than an attempt can take. */
  leaseMs?: number;
  batch?: number;
  now?: () => Date;
  random?: () => number;
}

export type NotificationWorker = LeasedWorker;

export function createNotificationWorker(o: NotificationWorkerOptions): NotificationWorker {
  const now = o.now ?? (() => new Date());
  return createLeasedWorker<OutboxRow>({
    name: 'notification worker',
    log: o.log,
    pollMs: o.pollMs,
    leaseMs: o.leaseMs ?? 60_000,
    batch: o.batch ?? 10,
    claim: (batch, leaseMs) => claimDue(o.db, batch, leaseMs, now()),
    release: (ids) => releaseLeases(o.db, ids),
    async handle(row, signal) {
      let outcome: AttemptOutcome;
      try {
        outcome = await o.channels[row.channel](row, signal);
      } catch (err) {
        outcome = { ok: false, error: err instanceof Error ? err.message.slice(0, 200) : 'failed' };
      }
      if (signal.aborted && !outcome.ok) return; // cut short by shutdown: the lease is given back
      const result = await recordAttempt(o.db, row, outcome, now(), { maxAttempts: o.maxAttempts, baseMs: o.retryBaseMs, maxMs: o.retryMaxMs, random: o.random });
      if (result !== 'retry') o.log.info({ notificationId: row.id, kind: row.kind, channel: row.channel, attempts: row.attempts + 1, result }, 'notification settled');
      else o.log.warn({ notificationId: row.id, kind: row.kind, channel: row.channel, attempts: row.attempts + 1, error: outcome.error }, 'notification delivery failed; retrying');
    },
  });
}
