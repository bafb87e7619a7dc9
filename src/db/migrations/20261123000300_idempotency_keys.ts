import type { Knex } from 'knex';

/**
 * Idempotency keys (src/platform/idempotency). A key's row is written in the same
 * transaction as its effect, so a committed row always has `status = 'completed'`;
 * `in_progress` exists for mechanisms that must commit before their effect finishes.
 */
const UP = [
  `create table idempotency_keys (
     scope text not null,
     key text not null,
     request_hash text not null,
     status text not null,
     response_status integer,
     response_body jsonb,
     response_headers jsonb,
     created_at timestamptz not null default now(),
     expires_at timestamptz not null,
     constraint idempotency_keys_pk primary key (scope, key),
     constraint idempotency_keys_status check (status in ('in_progress', 'completed')),
     constraint idempotency_keys_completed_has_response check (status <> 'completed' or response_status is not null)
   )`,
  `create index idempotency_keys_expires_idx on idempotency_keys (expires_at)`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table idempotency_keys');
}
