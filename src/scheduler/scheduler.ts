/**
 * The control plane's scheduler: every tick it brings the schedule rows in step with the
 * instances' config, claims the due slots (store.ts: elected per slot by the database, so every
 * control-plane replica may run it) and starts each slot's run through the gateway
 * (gateway-runs.ts); it also starts the accepted webhook deliveries whose run has not been
 * answered yet and whose lease lapsed (deliveries.ts: a crash after the 202 loses no run). A run in flight holds its schedule until it ends (at most one per
 * schedule); runs start in the background so a slow run never delays the next tick.
 */
import type { Knex } from 'knex';
import { newId } from '../platform/ids';
import type { Logger } from '../platform/logger';
import { triggerRunId } from '../runs/trigger-run-id';
import type { StartRun, TriggeredRun, TriggeredRunOutcome } from './gateway-runs';
import { claimDueSlots, instancesChangedSince, releaseSlot, syncInstances, type ClaimedSlot } from './store';
import { purgeDeliveries } from './webhook';
import { claimPendingDeliveries, finishDelivery, retryDeliveryAt, RETRY_MS, type PendingDelivery } from './deliveries';
import type { TriggerView } from '../capabilities/hook-types';
import { inputAfterTriggerHooks } from './trigger-hooks';

export interface SchedulerOptions {
  db: Knex;
  log: Logger;
  startRun: StartRun;
  tickMs: number;
  missedAfterMs: number;
  /** A started run holds its schedule at most this long (the gateway ends a run after 60 s). */
  leaseMs?: number;
  /** Runs this replica starts at once, at most. */
  maxInFlight?: number;
  now?: () => Date;
  /** The capabilities' onTrigger hooks (default: those of the instance, trigger-hooks.ts). */
  onTrigger?: (instanceId: string, trigger: TriggerView) => Promise<string>;
}

export interface Scheduler {
  start(): void;
  /** Stops ticking and waits for the runs it started. */
  stop(): Promise<void>;
  /** One pass (tests call it directly): sync, claim, start. */
  tick(): Promise<{ synced: number; started: number }>;
  /** Starts an accepted webhook delivery's run in the background (its lease is the delivery row). */
  startDelivery(d: PendingDelivery): void;
  /** Waits for every run started so far (tests). */
  idle(): Promise<void>;
}

/** How often everything is synced again, beside the changes since the last pass. */
const FULL_SYNC_EVERY_MS = 10 * 60_000;
/** Rows changed this long before the watermark are read again (clocks of writers differ a little). */
const SYNC_OVERLAP_MS = 2 * 60_000;

export function createScheduler(o: SchedulerOptions): Scheduler {
  const now = o.now ?? (() => new Date());
  const leaseMs = o.leaseMs ?? 150_000;
  const maxInFlight = o.maxInFlight ?? 32;
  const inFlight = new Set<Promise<unknown>>();
  let watermark: Date | undefined;
  let lastFullSync = 0;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<unknown> | undefined;
  let stopped = false;

  const track = (p: Promise<unknown>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  const logOutcome = (what: Record<string, unknown>, r: TriggeredRunOutcome) => {
    if (r.status === 200) o.log.info({ ...what, runId: r.runId, creditsCharged: r.creditsCharged }, 'triggered run finished');
    else o.log.warn({ ...what, runId: r.runId, status: r.status, code: r.code }, 'triggered run did not succeed');
  };

  const fireSlot = async (s: ClaimedSlot) => {
    const trigger = { kind: 'schedule' as const, id: s.triggerId };
    const runId = triggerRunId(trigger, s.idempotencyKey);
    const what = { triggerId: s.triggerId, instanceId: s.instanceId, slot: s.slot.toISOString(), late: s.late, retake: s.retake, runId };
    let r: TriggeredRunOutcome = { status: 0 };
    try {
      // A schedule without input still runs: its input is then the schedule's name and slot.
      const given = s.input.trim() ? s.input : `Scheduled run "${s.name}" at ${s.slot.toISOString()}`;
      let text: string;
      try {
        text = await (o.onTrigger ?? ((id, t) => inputAfterTriggerHooks(o.db, id, t)))(s.instanceId, { kind: 'schedule', name: s.name, input: given });
      } catch (err) {
        // Refused or failed by a capability's onTrigger hook: this slot starts no run.
        o.log.warn({ ...what, code: (err as { code?: string }).code, capability: (err as { details?: { capability?: string } }).details?.capability }, 'scheduled run refused by a capability');
        r = { status: 422, code: (err as { code?: string }).code };
        return;
      }
      r = await o.startRun({ instanceId: s.instanceId, trigger, text, idempotencyKey: s.idempotencyKey, requestId: newId('req') });
      logOutcome(what, r);
    } finally {
      // Unreachable gateway: the lease lapses and the same slot is tried again with the same key.
      if (r.status !== 0) await releaseSlot(o.db, s.triggerId, s.idempotencyKey, r.runId ?? runId).catch((err) => o.log.error({ err, ...what }, 'schedule lease not released; it lapses'));
    }
  };

  const fireDelivery = async (d: PendingDelivery) => {
    const run: TriggeredRun = { instanceId: d.instanceId, trigger: { kind: 'webhook', id: d.triggerId }, text: d.input, idempotencyKey: d.idempotencyKey, requestId: d.requestId };
    const r = await o.startRun(run);
    if (r.status === 0) {
      o.log.warn({ triggerId: d.triggerId, instanceId: d.instanceId, code: r.code }, 'webhook run not started (gateway unreachable); it is tried again');
      await retryDeliveryAt(o.db, d, new Date(now().getTime() + RETRY_MS));
      return;
    }
    logOutcome({ triggerId: d.triggerId, instanceId: d.instanceId }, r);
    await finishDelivery(o.db, d, now());
  };
  const startDelivery = (d: PendingDelivery) =>
    track(fireDelivery(d).catch((err) => o.log.error({ err, triggerId: d.triggerId }, 'webhook run failed to start; its lease lapses and it is tried again')));

  async function sync(at: Date): Promise<number> {
    const full = watermark === undefined || at.getTime() - lastFullSync > FULL_SYNC_EVERY_MS;
    const since = full ? undefined : new Date(watermark!.getTime() - SYNC_OVERLAP_MS);
    const changed = await instancesChangedSince(o.db, since);
    const n = await syncInstances(o.db, changed, at);
    if (full) lastFullSync = at.getTime();
    const newest = changed.at(-1)?.updated_at;
    if (newest && (!watermark || newest > watermark)) watermark = newest;
    return n;
  }

  async function tick(): Promise<{ synced: number; started: number }> {
    const at = now();
    const synced = await sync(at);
    await purgeDeliveries(o.db, at);
    const room = maxInFlight - inFlight.size;
    if (room <= 0) return { synced, started: 0 };
    const claimed = await claimDueSlots(o.db, {
      now: at,
      missedAfterMs: o.missedAfterMs,
      leaseMs,
      limit: room,
      onSkipped: (s) => o.log.info({ triggerId: s.triggerId, instanceId: s.instanceId, slot: s.slot.toISOString() }, 'missed schedule slot skipped (missedRunPolicy skip)'),
    });
    for (const s of claimed) track(fireSlot(s).catch((err) => o.log.error({ err, triggerId: s.triggerId }, 'scheduled run failed to start')));
    const pending = await claimPendingDeliveries(o.db, {
      now: at,
      limit: Math.max(0, room - claimed.length),
      onGivenUp: (d) => o.log.error({ triggerId: d.triggerId, instanceId: d.instanceId }, 'webhook delivery given up: its run could not be started for a day'),
    });
    for (const d of pending) startDelivery(d);
    return { synced, started: claimed.length + pending.length };
  }

  const loop = () => {
    if (stopped) return;
    ticking = tick()
      .catch((err) => o.log.error({ err }, 'scheduler tick failed'))
      .finally(() => {
        ticking = undefined;
        if (!stopped) timer = setTimeout(loop, o.tickMs);
      });
  };

  return {
    start() {
      stopped = false;
      timer = setTimeout(loop, 0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await ticking;
      await Promise.allSettled([...inFlight]);
    },
    tick,
    startDelivery,
    async idle() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
