import type { Knex } from 'knex';

/**
 * The Provisioner's dead-letter store: order lines the Control Plane did not accept after the
 * retry schedule (`pending`), refused for good or could not be mapped (`failed`), and lines an
 * operator replayed or a later delivery pushed through (`replayed`). One row per Saleor order
 * line (the same `(order_id, line_id)` as the idempotency key `saleor:<orderId>:<lineId>`): a
 * redelivered webhook updates the row instead of adding one. Rows hold the normalized Control
 * Plane request and what it was mapped from — never the webhook signature or any secret.
 */
const UP = [
  `create table provisioner_dead_letters (
     id text primary key,
     order_id text not null,
     line_id text not null,
     order_number text,
     idempotency_key text not null,
     saleor_api_url text,
     kind text,
     status text not null,
     request jsonb,
     source jsonb not null,
     last_error jsonb not null,
     attempts integer not null default 0,
     result jsonb,
     request_id text,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now(),
     replayed_at timestamptz,
     constraint provisioner_dead_letters_line_uq unique (order_id, line_id),
     constraint provisioner_dead_letters_status check (status in ('pending', 'replayed', 'failed')),
     constraint provisioner_dead_letters_kind check (kind is null or kind in ('instance', 'credit_pack')),
     constraint provisioner_dead_letters_replayed_has_time check (status <> 'replayed' or replayed_at is not null)
   )`,
  `create index provisioner_dead_letters_status_idx on provisioner_dead_letters (status, id desc)`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table provisioner_dead_letters');
}
