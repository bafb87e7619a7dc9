import type { Knex } from 'knex';

/**
 * Purchased plan periods: one row per paid plan order line (a purchase or a renewal), naming the
 * instance it put on the plan, the period it pays for, and the ledger entries of its included
 * credits — the `grant` at purchase and the `expiry` of what was left at the period's end.
 *
 * `source_ref` (the order line, `<instance tag>:<orderId>:<lineId>`) is unique: a redelivered
 * line finds its row and changes nothing, even when the line upgraded an existing trial instance
 * in place (so no instance row carries the line's reference). `expired_at` is set once, in the
 * transaction that appends the expiry entry, under the wallet's row lock.
 */
const UP = [
  `create table plan_periods (
     id text primary key,
     instance_id text not null references instances(id) on delete restrict,
     org_id text not null,
     wallet_id text not null references wallets(id) on delete restrict,
     plan_id text not null,
     source_ref text not null,
     included_credits bigint not null,
     period_start timestamptz not null,
     period_end timestamptz not null,
     grant_entry_id text references ledger_entries(id) on delete restrict,
     expiry_entry_id text references ledger_entries(id) on delete restrict,
     expired_credits bigint,
     expired_at timestamptz,
     upgraded_in_place boolean not null default false,
     created_at timestamptz not null,
     constraint plan_periods_source_ref_uq unique (source_ref),
     constraint plan_periods_credits_nonneg check (included_credits >= 0),
     constraint plan_periods_period check (period_end > period_start),
     constraint plan_periods_expired check ((expired_at is null) = (expired_credits is null))
   )`,
  `create index plan_periods_due_idx on plan_periods (period_end) where expired_at is null`,
  `create index plan_periods_instance_idx on plan_periods (instance_id, period_start desc)`,
];

const DOWN = [`drop table plan_periods`];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
