import type { Knex } from 'knex';

/**
 * Schedules and webhook triggers (capability `scheduler_triggers`), and what started each run.
 *
 * `instance_triggers`: one row per schedule of an instance's config (kept in step with it by the
 * scheduler) and one for its webhook trigger once a secret was issued. A schedule's state is
 * here, not in memory, so a restart neither loses nor repeats a slot: `next_fire_at` is the next
 * slot, `last_fire_at` the last one started. A control-plane replica claims a due row with
 * `FOR UPDATE SKIP LOCKED` and advances it in the same transaction, so two replicas never start
 * the same slot; `in_flight_*` is the lease of the run it started (at most one in flight per
 * schedule), re-fired with the same Idempotency-Key when its holder died before reporting back.
 *
 * `trigger_deliveries`: the signatures of accepted webhook deliveries, until they fall out of the
 * replay window, so the same signed delivery never starts a second run.
 *
 * `runs.trigger_kind` / `trigger_id`: `api` for runs started by a request to the gateway, else
 * the schedule or webhook trigger that started them (caller kind `trigger`).
 */
const UP = [
  `alter table runs add column trigger_kind text not null default 'api', add column trigger_id text`,
  `alter table runs drop constraint runs_caller_kind`,
  `alter table runs add constraint runs_caller_kind check (caller_kind in ('user', 'api_key', 'widget', 'trigger'))`,
  `alter table runs add constraint runs_trigger_kind check (trigger_kind in ('api', 'schedule', 'webhook') and ((trigger_kind = 'api') = (trigger_id is null)))`,
  `create index runs_trigger_day_idx on runs (instance_id, started_at) where trigger_kind <> 'api'`,
  `create table instance_triggers (
     id text primary key,
     instance_id text not null references instances(id) on delete cascade,
     kind text not null,
     name text not null,
     cron text,
     timezone text,
     input text not null default '',
     missed_run_policy text not null default 'skip',
     enabled boolean not null default true,
     next_fire_at timestamptz,
     last_fire_at timestamptz,
     last_run_id text,
     in_flight_key text,
     in_flight_slot timestamptz,
     in_flight_until timestamptz,
     secret_version integer,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now(),
     constraint instance_triggers_kind check (kind in ('schedule', 'webhook')),
     constraint instance_triggers_policy check (missed_run_policy in ('skip', 'run_once')),
     constraint instance_triggers_schedule check (kind <> 'schedule' or (cron is not null and timezone is not null)),
     constraint instance_triggers_name unique (instance_id, kind, name)
   )`,
  `create index instance_triggers_due_idx on instance_triggers (next_fire_at) where kind = 'schedule' and enabled`,
  `create index instance_triggers_lease_idx on instance_triggers (in_flight_until) where in_flight_key is not null`,
  `create table trigger_deliveries (
     trigger_id text not null references instance_triggers(id) on delete cascade,
     signature_sha256 text not null,
     run_id text not null,
     received_at timestamptz not null,
     expires_at timestamptz not null,
     primary key (trigger_id, signature_sha256)
   )`,
  `create index trigger_deliveries_expiry_idx on trigger_deliveries (expires_at)`,
];

const DOWN = [
  `drop table trigger_deliveries`,
  `drop table instance_triggers`,
  `drop index runs_trigger_day_idx`,
  `alter table runs drop constraint runs_trigger_kind`,
  `delete from runs where caller_kind = 'trigger'`,
  `alter table runs drop constraint runs_caller_kind`,
  `alter table runs add constraint runs_caller_kind check (caller_kind in ('user', 'api_key', 'widget'))`,
  `alter table runs drop column trigger_id, drop column trigger_kind`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
