/**
 * Schedule state in the database (`instance_triggers`, migration 20261203000200_triggers):
 * kept in step with the instances' `scheduler_triggers` config, claimed slot by slot.
 *
 * Claiming: a transaction selects due rows `FOR UPDATE SKIP LOCKED`, advances each to its next
 * slot and takes a lease on the run it is about to start, then commits — so with any number of
 * control-plane replicas on one database each slot is claimed by exactly one, and a restart finds
 * the schedule where the last claim left it (never the same slot twice). A slot picked up later
 * than `missedAfterMs` is missed: `skip` moves on to the next slot without a run, `run_once`
 * starts one run for all the slots missed. A lease that lapsed (its holder died before it
 * reported back) is claimed again for the same slot and the same Idempotency-Key, so the gateway
 * answers the first run's result instead of starting another.
 */
import type { Knex } from 'knex';
import { one, rows } from '../db/tx';
import { nextSlot, scheduleTriggerId, slotKey } from './slots';

export interface ScheduleConfig {
  name: string;
  cron: string;
  timezone?: string;
  input?: string;
  enabled?: boolean;
  missedRunPolicy?: 'skip' | 'run_once';
}

export interface TriggerRow {
  id: string;
  instance_id: string;
  kind: 'schedule' | 'webhook';
  name: string;
  cron: string | null;
  timezone: string | null;
  input: string;
  missed_run_policy: 'skip' | 'run_once';
  enabled: boolean;
  next_fire_at: Date | null;
  last_fire_at: Date | null;
  last_run_id: string | null;
  in_flight_key: string | null;
  in_flight_slot: Date | null;
  in_flight_until: Date | null;
  secret_version: number | null;
  created_at: Date;
  updated_at: Date;
}

/** A slot this replica claimed: start its run with `idempotencyKey`, then `release` the lease. */
export interface ClaimedSlot {
  triggerId: string;
  instanceId: string;
  name: string;
  slot: Date;
  input: string;
  idempotencyKey: string;
  /** The slot was late (missed) and runs once under `run_once`. */
  late: boolean;
  /** A lapsed lease taken over: the same slot again, same key. */
  retake: boolean;
}

export interface ClaimOptions {
  now: Date;
  missedAfterMs: number;
  /** How long a started run holds its schedule (the gateway gives up on a run after 60 s). */
  leaseMs: number;
  limit: number;
  /** Told about slots skipped by `skip`. */
  onSkipped?: (s: { triggerId: string; instanceId: string; slot: Date }) => void;
}

interface InstanceForSync {
  id: string;
  state: string;
  effective_config: Record<string, Record<string, unknown>>;
  updated_at: Date;
}

/**
 * Brings the schedule rows of the given instances in step with their config: a schedule of an
 * active instance with `scheduler_triggers` runs; one whose cron, time zone or enablement changed
 * starts again from its next slot after now; schedules no longer configured (or of a terminated
 * instance) go. A paused (or not yet active) instance keeps its rows — their last run, last run
 * id — with no next slot; once it is active again each starts from its next slot after now (the
 * slots of the pause are not made up). The webhook trigger row (created with its secret) follows
 * `webhookTrigger` and the instance's state.
 */
export async function syncInstances(db: Knex, instances: readonly InstanceForSync[], now: Date): Promise<number> {
  let changed = 0;
  for (const inst of instances) {
    const cfg = inst.effective_config?.scheduler_triggers as { schedules?: ScheduleConfig[]; webhookTrigger?: boolean } | undefined;
    const active = inst.state === 'active' && cfg !== undefined;
    const kept = inst.state !== 'terminated' && cfg !== undefined;
    const wanted = new Map((kept ? cfg!.schedules ?? [] : []).map((s) => [s.name, s]));
    await db.transaction(async (trx) => {
      const existing = await rows<TriggerRow>(trx, `select * from instance_triggers where instance_id = ? for update`, [inst.id]);
      for (const row of existing) {
        if (row.kind === 'webhook') {
          const enabled = active && cfg!.webhookTrigger === true;
          if (row.enabled !== enabled) {
            await trx.raw(`update instance_triggers set enabled = ?, updated_at = ? where id = ?`, [enabled, now, row.id]);
            changed++;
          }
          continue;
        }
        const s = wanted.get(row.name);
        if (!s) {
          await trx.raw(`delete from instance_triggers where id = ?`, [row.id]);
          changed++;
          continue;
        }
        wanted.delete(row.name);
        const desired = desiredOf(s);
        const timing = row.cron !== desired.cron || row.timezone !== desired.timezone || row.enabled !== desired.enabled;
        // Paused: no next slot; active again (or changed): the next slot after now.
        const stopped = !active && row.next_fire_at !== null;
        const restarting = active && desired.enabled && row.next_fire_at === null;
        if (!timing && !stopped && !restarting && row.input === desired.input && row.missed_run_policy === desired.policy) continue;
        const next = !active || !desired.enabled ? null : timing || restarting ? nextSlot(desired.cron, desired.timezone, now) : row.next_fire_at;
        await trx.raw(
          `update instance_triggers set cron = ?, timezone = ?, input = ?, missed_run_policy = ?, enabled = ?, next_fire_at = ?, updated_at = ? where id = ?`,
          [desired.cron, desired.timezone, desired.input, desired.policy, desired.enabled, next, now, row.id],
        );
        changed++;
      }
      for (const s of wanted.values()) {
        const d = desiredOf(s);
        await trx.raw(
          `insert into instance_triggers (id, instance_id, kind, name, cron, timezone, input, missed_run_policy, enabled, next_fire_at, created_at, updated_at)
           values (?, ?, 'schedule', ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (id) do nothing`,
          [scheduleTriggerId(inst.id, s.name), inst.id, s.name, d.cron, d.timezone, d.input, d.policy, d.enabled, active && d.enabled ? nextSlot(d.cron, d.timezone, now) : null, now, now],
        );
        changed++;
      }
    });
  }
  return changed;
}

function desiredOf(s: ScheduleConfig) {
  return {
    cron: s.cron.trim().split(/\s+/).join(' '),
    timezone: s.timezone ?? 'UTC',
    input: s.input ?? '',
    enabled: s.enabled !== false,
    policy: s.missedRunPolicy ?? 'skip',
  };
}

/** Instances whose row changed since `since` (all when undefined) and that may have triggers. */
export async function instancesChangedSince(db: Knex, since: Date | undefined): Promise<InstanceForSync[]> {
  return rows<InstanceForSync>(
    db,
    `select i.id, i.state, i.effective_config, i.updated_at from instances i
      where (jsonb_exists(i.effective_config, 'scheduler_triggers') or exists (select 1 from instance_triggers t where t.instance_id = i.id))
        ${since ? 'and i.updated_at > ?' : ''}
      order by i.updated_at`,
    since ? [since] : [],
  );
}

/** Claims up to `limit` due slots (see the module comment); each is this replica's to start. */
export async function claimDueSlots(db: Knex, o: ClaimOptions): Promise<ClaimedSlot[]> {
  return db.transaction(async (trx) => {
    const due = await rows<TriggerRow>(
      trx,
      `select t.* from instance_triggers t join instances i on i.id = t.instance_id
        where t.kind = 'schedule' and t.enabled and i.state = 'active'
          and ((t.in_flight_key is null and t.next_fire_at <= ?) or (t.in_flight_key is not null and t.in_flight_until < ?))
        order by coalesce(t.in_flight_slot, t.next_fire_at)
        limit ?
        for update of t skip locked`,
      [o.now, o.now, o.limit],
    );
    const claimed: ClaimedSlot[] = [];
    for (const row of due) {
      const until = new Date(o.now.getTime() + o.leaseMs);
      if (row.in_flight_key && row.in_flight_slot) {
        // Its holder never reported back: the same slot, the same key (the gateway replays a finished run).
        await trx.raw(`update instance_triggers set in_flight_until = ? where id = ?`, [until, row.id]);
        claimed.push({ triggerId: row.id, instanceId: row.instance_id, name: row.name, slot: row.in_flight_slot, input: row.input, idempotencyKey: slotKey(row.id, row.in_flight_slot), late: false, retake: true });
        continue;
      }
      const slot = row.next_fire_at!;
      const next = nextSlot(row.cron!, row.timezone!, o.now);
      const late = o.now.getTime() - slot.getTime() > o.missedAfterMs;
      if (late && row.missed_run_policy === 'skip') {
        await trx.raw(`update instance_triggers set next_fire_at = ? where id = ?`, [next, row.id]);
        o.onSkipped?.({ triggerId: row.id, instanceId: row.instance_id, slot });
        continue;
      }
      const key = slotKey(row.id, slot);
      await trx.raw(
        `update instance_triggers set next_fire_at = ?, last_fire_at = ?, in_flight_key = ?, in_flight_slot = ?, in_flight_until = ? where id = ?`,
        [next, slot, key, slot, until, row.id],
      );
      claimed.push({ triggerId: row.id, instanceId: row.instance_id, name: row.name, slot, input: row.input, idempotencyKey: key, late, retake: false });
    }
    return claimed;
  });
}

/** Ends a slot's lease (the run finished, or was refused): the schedule may start its next slot. */
export async function releaseSlot(db: Knex, triggerId: string, idempotencyKey: string, runId: string | null): Promise<void> {
  await db.raw(
    `update instance_triggers set in_flight_key = null, in_flight_slot = null, in_flight_until = null, last_run_id = coalesce(?, last_run_id)
      where id = ? and in_flight_key = ?`,
    [runId, triggerId, idempotencyKey],
  );
}

export async function triggersOf(db: Knex, instanceId: string): Promise<TriggerRow[]> {
  return rows<TriggerRow>(db, `select * from instance_triggers where instance_id = ? order by kind, name`, [instanceId]);
}

export async function triggerById(db: Knex, id: string): Promise<TriggerRow | undefined> {
  return one<TriggerRow>(db, `select * from instance_triggers where id = ?`, [id]);
}
