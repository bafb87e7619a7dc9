import type { Knex } from 'knex';

/**
 * The audit log: one hash chain per org (src/audit/).
 *
 * - audit_events: append-only IN THE DATABASE (statement-level triggers refuse UPDATE, DELETE
 *   and TRUNCATE, the same approach as ledger_entries), one `seq` per org (unique), each row
 *   carrying `prev_hash` (the previous event's hash, 64 zeros for seq 1) and
 *   `hash = sha256(prev_hash || canonical JSON of the event as the API serves it)`.
 *   `instance_id` / `wallet_id` are generated from `data` (indexes for filtering; they are not
 *   separately hashed because they cannot differ from the hashed `data`).
 * - audit_chain_heads: the org's chain head (last seq + hash). Appends lock this row, so
 *   concurrent appends of one org queue up and never fork the chain; it also lets verification
 *   notice a truncated tail. It is the only mutable part (it is not the record, the chain is).
 * No foreign key to orgs: the record must outlive anything it talks about.
 * The statements run one by one: PGlite's extended protocol takes one command per query.
 */
const UP = [
  `create table audit_events (
     id text primary key,
     org_id text not null,
     project_id text,
     seq bigint not null,
     action text not null,
     resource_type text not null,
     resource_id text not null,
     actor_type text not null,
     actor_id text not null,
     request_id text,
     data jsonb not null default '{}'::jsonb,
     instance_id text generated always as (data->>'instanceId') stored,
     wallet_id text generated always as (data->>'walletId') stored,
     created_at timestamptz not null,
     prev_hash text not null,
     hash text not null,
     constraint audit_events_org_seq_uq unique (org_id, seq),
     constraint audit_events_seq_pos check (seq > 0),
     constraint audit_events_actor_type check (actor_type in ('user', 'service', 'api_key', 'system')),
     constraint audit_events_hashes check (prev_hash ~ '^[a-f0-9]{64}$' and hash ~ '^[a-f0-9]{64}$')
   )`,
  `create index audit_events_org_action_idx on audit_events (org_id, action, seq)`,
  `create index audit_events_org_resource_idx on audit_events (org_id, resource_id)`,
  `create index audit_events_org_instance_idx on audit_events (org_id, instance_id) where instance_id is not null`,
  `create index audit_events_org_wallet_idx on audit_events (org_id, wallet_id) where wallet_id is not null`,
  `create index audit_events_org_created_idx on audit_events (org_id, created_at)`,

  `create table audit_chain_heads (
     org_id text primary key,
     last_seq bigint not null default 0,
     last_hash text not null,
     updated_at timestamptz not null default now()
   )`,

  // Statement-level, so even a zero-row UPDATE/DELETE is refused. (Production should also
  // REVOKE UPDATE, DELETE, TRUNCATE from the application role; a superuser can still disable
  // triggers — which is what the hash chain is for.)
  `create or replace function audit_events_append_only() returns trigger
     language plpgsql as $fn$
   begin
     raise exception 'audit_events is append-only: % refused', tg_op
       using errcode = 'restrict_violation', hint = 'the audit log is immutable';
   end
   $fn$`,
  `create trigger audit_events_append_only
     before update or delete on audit_events
     for each statement execute function audit_events_append_only()`,
  `create trigger audit_events_no_truncate
     before truncate on audit_events
     for each statement execute function audit_events_append_only()`,
];

const DOWN = [
  `drop table audit_chain_heads`,
  `drop table audit_events`,
  `drop function if exists audit_events_append_only()`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
