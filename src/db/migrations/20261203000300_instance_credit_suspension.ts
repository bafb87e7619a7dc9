import type { Knex } from 'knex';

/**
 * `instances.suspended_for_credits`: the instance was paused because its wallet ran dry under
 * `credits_wallet.depletionPolicy: suspend` (src/money/depletion.ts). A credit into that wallet
 * resumes exactly these — never an instance its admin paused.
 */
const UP = [
  `alter table instances add column suspended_for_credits boolean not null default false`,
  `create index instances_suspended_wallet_idx on instances (wallet_id) where suspended_for_credits`,
];

const DOWN = [`drop index instances_suspended_wallet_idx`, `alter table instances drop column suspended_for_credits`];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
