/**
 * The outbox worker: claims due notifications (outbox.ts `claimDue`: a lease taken with
 * `FOR UPDATE SKIP LOCKED`, so control-plane replicas never deliver one row at the same time and
 * a crashed worker's rows come back when the lease runs out), delivers each on its channel and
 * records the attempt (delivered, retried after an exponential backoff with jitter, or dead after
 * the last attempt). Woken at once by `kick` (a notification was committed), else every `pollMs`.
 * `stop` aborts the attempts in flight and gives their leases back.
 */
import type { Knex } from 'knex';
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

export interface NotificationWorker {
  start(): void;
  kick(): void;
  /** One claim-and-deliver round (tests drive the worker with it); answers the rows handled. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function createNotificationWorker(o: NotificationWorkerOptions): NotificationWorker {
  const now = o.now ?? (() => new Date());
  const batch = o.batch ?? 10;
  const leaseMs = o.leaseMs ?? 60_000;
  const abort = new AbortController();
  const inFlight = new Set<string>();
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let kicked = false;

  async function deliver(row: OutboxRow): Promise<void> {
    inFlight.add(row.id);
    try {
      let outcome: AttemptOutcome;
      try {
        outcome = await o.channels[row.channel](row, abort.signal);
      } catch (err) {
        outcome = { ok: false, error: err instanceof Error ? err.message.slice(0, 200) : 'failed' };
      }
      if (abort.signal.aborted && !outcome.ok) return; // cut short by shutdown: the lease is given back
      const result = await recordAttempt(o.db, row, outcome, now(), { maxAttempts: o.maxAttempts, baseMs: o.retryBaseMs, maxMs: o.retryMaxMs, random: o.random });
      if (result !== 'retry') o.log.info({ notificationId: row.id, kind: row.kind, channel: row.channel, attempts: row.attempts + 1, result }, 'notification settled');
      else o.log.warn({ notificationId: row.id, kind: row.kind, channel: row.channel, attempts: row.attempts + 1, error: outcome.error }, 'notification delivery failed; retrying');
    } catch (err) {
      o.log.error({ err, notificationId: row.id }, 'notification attempt could not be recorded; its lease runs out');
    } finally {
      inFlight.delete(row.id);
    }
  }

  async function runOnce(): Promise<number> {
    const claimed = await claimDue(o.db, batch, leaseMs, now());
    await Promise.all(claimed.map(deliver));
    return claimed.length;
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (kicked || abort.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function loop(): Promise<void> {
    while (!abort.signal.aborted) {
      kicked = false;
      let n = 0;
      try {
        n = await runOnce();
      } catch (err) {
        if (!abort.signal.aborted) o.log.error({ err }, 'notification claim failed');
      }
      if (n < batch) await sleep(o.pollMs);
    }
  }

  return {
    start() {
      running ??= loop();
    },
    kick() {
      kicked = true;
      wake?.();
    },
    runOnce,
    async stop() {
      const leased = [...inFlight];
      abort.abort(new Error('notification worker stopping'));
      wake?.();
      await running;
      try {
        await releaseLeases(o.db, leased);
      } catch (err) {
        o.log.warn({ err }, 'could not release notification leases; they expire on their own');
      }
    },
  };
}
