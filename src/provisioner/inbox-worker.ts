/**
 * Delivers the inbox: claims due rows (a lease, so replicas share the work and a crashed worker's
 * rows come back), runs one delivery round on each (service.ts `deliverRound`) and records it.
 * Woken at once when a webhook is held (`kick`), else every `pollMs`. `stop` aborts the rounds in
 * flight and gives their leases back, so a restarted (or another) Provisioner picks them up at
 * once; an interrupted call is safe to repeat (the Control Plane dedupes by key).
 */
import { createLeasedWorker, type LeasedWorker } from '../platform/leased-worker';
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

export type InboxWorker = LeasedWorker;

export function createInboxWorker(opts: InboxWorkerOptions): InboxWorker {
  const log = opts.log.child({ component: 'inbox' });
  return createLeasedWorker<InboxRecord>({
    name: 'inbox worker',
    log,
    pollMs: opts.pollMs ?? 1000,
    leaseMs: opts.leaseMs ?? 60_000,
    batch: opts.batch ?? 10,
    claim: (batch, leaseMs) => opts.inbox.claimDue(batch, leaseMs),
    // Rounds cut short keep their row queued; their leases are given back on stop.
    release: (ids) => opts.inbox.release(ids),
    async handle(record, signal) {
      // A throw (the dead-letter store or the inbox is down) lets the lease run out: the row comes back.
      const result = await opts.deliverRound(record, { log: log.child({ inboxId: record.id }), signal });
      await opts.inbox.afterRound(record.id, result);
      if (result.status !== 'queued') log.info({ inboxId: record.id, orderId: record.order.id, status: result.status, rounds: record.attempts }, 'inbox message settled');
    },
  });
}
