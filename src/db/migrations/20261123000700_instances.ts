import type { Knex } from 'knex';

/**
 * Instances and their lifecycle history. `generation` counts desired-state changes: the GitOps
 * writer records which generation a commit carries, so a commit written from stale state is
 * detected and rewritten (see src/instances/desired-state-sync.ts).
 */
const UP = [
  `create table instances (
     id text primary key,
     org_id text not null references orgs(id),
     project_id text not null references projects(id),
     offering_id text not null,
     version_id text not null,
     plan_id text not null,
     wallet_id text not null references wallets(id),
     name text not null,
     state text not null,
     source text not null,
     source_ref text,
     config_overrides jsonb not null default '{}'::jsonb,
     effective_config jsonb not null default '{}'::jsonb,
     generation integer not null default 1,
     committed_generation integer not null default 0,
     gitops_commit text,
     gitops_sync text not null default 'Unknown',
     gitops_health text not null default 'Unknown',
     gitops_phase text,
     gitops_message text,
     gitops_reported_at timestamptz,
     observed_revision text,
     observed_sync text,
     observed_health text,
     created_by text,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now(),
     provisioning_since timestamptz,
     activated_at timestamptz,
     terminated_at timestamptz,
     constraint instances_state check (state in ('requested', 'provisioning', 'active', 'paused', 'terminated')),
     constraint instances_source check (source in ('api', 'saleor', 'trial'))
   )`,
  `create index instances_project_idx on instances (project_id, created_at desc, id desc)`,
  `create index instances_org_idx on instances (org_id, created_at desc, id desc)`,
  `create index instances_state_idx on instances (state, provisioning_since)`,
  `create unique index instances_source_ref_idx on instances (source, source_ref) where source_ref is not null`,
  `create table instance_events (
     id text primary key,
     instance_id text not null references instances(id),
     seq integer not null,
     type text not null,
     from_state text,
     to_state text not null,
     commit text,
     message text,
     actor text not null,
     created_at timestamptz not null default now(),
     constraint instance_events_seq unique (instance_id, seq)
   )`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists instance_events');
  await knex.raw('drop table if exists instances');
}
