/**
 * Delivers the inbox: claims due rows (a lease, so replicas share the work and a crashed worker's
 * rows come back), runs one delivery round on each (service.ts `deliverRound`) and records it.
 * Woken at once when a webhook is held (`kick`), else every `pollMs`. `stop` aborts the rounds in
 * flight and gives their leases back, so a restarted (or another) Provisioner picks them up at
 * once; an interrupted call is safe to repeat (the Control Plane dedupes by key).
 */
import type { Logger } from '../platform/logger';
import type { InboxRecord, InboxStore } from './inbox';
import type { RoundResult } from './service';

export interface InboxWorkerOptions {
  inbox: InboxStore;
  deliverRound(record: InboxRecord, ctx: { log: Logger; signal?: AbortSignal }): Promise<RoundResult>;
  log: Logger;
  /** How often due rows are looked for when nothing woke the worker (ms). */
  pollMs?: number;
  /** How long a claimed row is ours (ms); longer than a round can take. */
  leaseMs?: number;
  /** Rows delivered at once. */
  batch?: number;
}

export interface InboxWorker {
  start(): void;
  /** Something was written to the inbox: look now. */
  kick(): void;
  stop(): Promise<void>;
}

export function createInboxWorker(opts: InboxWorkerOptions): InboxWorker {
  const pollMs = opts.pollMs ?? 1000;
  const leaseMs = opts.leaseMs ?? 60_000;
  const batch = opts.batch ?? 10;
  const log = opts.log.child({ component: 'inbox' });
  const abort = new AbortController();
  const inFlight = new Set<string>();
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let kicked = false;

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

  async function deliver(record: InboxRecord): Promise<void> {
    inFlight.add(record.id);
    try {
      const result = await opts.deliverRound(record, { log: log.child({ inboxId: record.id }), signal: abort.signal });
      await opts.inbox.afterRound(record.id, result);
      if (result.status !== 'queued') log.info({ inboxId: record.id, orderId: record.order.id, status: result.status, rounds: record.attempts }, 'inbox message settled');
    } catch (err) {
      // The dead-letter store or the inbox is down: the lease runs out and the row comes back.
      log.error({ err, inboxId: record.id }, 'inbox delivery round failed');
    } finally {
      inFlight.delete(record.id);
    }
  }

  async function loop(): Promise<void> {
    while (!abort.signal.aborted) {
      kicked = false;
      let claimed: InboxRecord[] = [];
      try {
        claimed = await opts.inbox.claimDue(batch, leaseMs);
      } catch (err) {
        if (!abort.signal.aborted) log.error({ err }, 'inbox claim failed');
      }
      if (claimed.length) await Promise.all(claimed.map(deliver));
      // A full batch means more may be due: look again at once.
      if (claimed.length < batch) await sleep(pollMs);
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
    async stop() {
      const leased = [...inFlight];
      abort.abort(new Error('provisioner shutting down'));
      wake?.();
      await running;
      // Rounds cut short keep their row queued; give the leases back so nobody waits for them.
      try {
        await opts.inbox.release(leased);
      } catch (err) {
        log.warn({ err }, 'could not release inbox leases; they expire on their own');
      }
    },
  };
}
