import type { Knex } from 'knex';

/**
 * Durable run history and the per-day run counters of the run limits.
 *
 * `runs`: one row per admitted run, inserted in the transaction of its hold (authorize) and
 * finished in the transaction of its settle or void, so history and money never disagree. The
 * row is also the run's idempotency record (request hash + attempt id) and, through
 * (instance, caller, session), the chat session's turns. Every write to a run row happens under
 * its wallet's row lock (authorize, settle, void, expiry), except the retention sweeper and the
 * buyer's erasure, which only clear bodies (input, output) and the session link.
 * Plain rows, no triggers: a batched settle can append them in the same statement as its ledger rows.
 *
 * `instance_run_days`: runs admitted per instance and UTC day, for `maxRunsPerDay`; written under
 * the instance's wallet lock; days older than two are swept.
 */
const UP = [
  `create table runs (
     id text primary key,
     instance_id text not null,
     org_id text not null,
     project_id text not null,
     wallet_id text not null,
     caller_kind text not null,
     caller_subject text not null,
     session_id text,
     attempt_id text not null,
     request_hash text,
     status text not null,
     reservation_id text,
     ledger_entry_id text,
     credits_charged bigint not null default 0,
     overage boolean not null default false,
     balance_after bigint,
     available_after bigint,
     low_balance boolean,
     usage jsonb,
     error_status integer,
     error_code text,
     error_message text,
     error_details jsonb,
     input jsonb,
     output jsonb,
     bodies_expire_at timestamptz,
     started_at timestamptz not null,
     finished_at timestamptz,
     duration_ms integer,
     constraint runs_caller_kind check (caller_kind in ('user', 'api_key', 'widget')),
     constraint runs_status check (status in ('running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'expired', 'rejected')),
     constraint runs_charge_nonneg check (credits_charged >= 0),
     constraint runs_finished check ((status = 'running') = (finished_at is null))
   )`,
  `create index runs_instance_started_idx on runs (instance_id, started_at desc, id desc)`,
  `create index runs_session_idx on runs (instance_id, caller_kind, caller_subject, session_id, started_at desc) where session_id is not null`,
  `create index runs_reservation_idx on runs (reservation_id) where reservation_id is not null`,
  `create index runs_bodies_expire_idx on runs (bodies_expire_at) where bodies_expire_at is not null`,
  `create table instance_run_days (
     instance_id text not null,
     day date not null,
     runs integer not null,
     primary key (instance_id, day),
     constraint instance_run_days_runs_pos check (runs > 0)
   )`,
];

const DOWN = [`drop table instance_run_days`, `drop table runs`];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
