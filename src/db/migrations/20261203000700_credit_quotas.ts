import type { Knex } from 'knex';

/**
 * Credit quotas (src/money/quotas.ts): a gateway's block of credits, held on the wallet as an
 * ordinary open reservation of kind `quota`, so the sum of all holds — runs' and quotas' — stays
 * within the balance (the wallet row's CHECK reserved ≤ balance).
 *
 * A quota's hold changes size while it is open: a grant renewal resizes it, and each run charged
 * against it shrinks it by the run's charge (in the same statement as `wallets.reserved`, under
 * the wallet's lock). Its `amount` may reach 0. A run's hold keeps its amount for life, as before:
 * the resolve-once trigger still refuses any change to a resolved reservation, and to the amount
 * of any reservation that is not an open quota.
 */
const UP = [
  `alter table reservations add column kind text not null default 'run'`,
  `alter table reservations add constraint reservations_kind check (kind in ('run', 'quota'))`,
  // Who holds a quota (a gateway replica) and until when it may admit runs on it.
  `alter table reservations add column holder text`,
  `alter table reservations add column use_until timestamptz`,
  `alter table reservations drop constraint reservations_amount_pos`,
  `alter table reservations add constraint reservations_amount_pos check (amount > 0 or (kind = 'quota' and amount >= 0))`,
  `create or replace function reservations_resolve_once() returns trigger
     language plpgsql as $fn$
   begin
     if old.status <> 'open' then
       raise exception 'reservation % is already %', old.id, old.status using errcode = 'restrict_violation';
     end if;
     if new.wallet_id <> old.wallet_id or new.kind <> old.kind then
       raise exception 'reservation % wallet/kind are immutable', old.id using errcode = 'restrict_violation';
     end if;
     if new.amount <> old.amount and old.kind <> 'quota' then
       raise exception 'reservation % wallet/amount are immutable', old.id using errcode = 'restrict_violation';
     end if;
     return new;
   end
   $fn$`,
];

const DOWN = [
  `create or replace function reservations_resolve_once() returns trigger
     language plpgsql as $fn$
   begin
     if old.status <> 'open' then
       raise exception 'reservation % is already %', old.id, old.status using errcode = 'restrict_violation';
     end if;
     if new.wallet_id <> old.wallet_id or new.amount <> old.amount then
       raise exception 'reservation % wallet/amount are immutable', old.id using errcode = 'restrict_violation';
     end if;
     return new;
   end
   $fn$`,
  `alter table reservations drop constraint reservations_amount_pos`,
  `alter table reservations add constraint reservations_amount_pos check (amount > 0)`,
  `alter table reservations drop column use_until`,
  `alter table reservations drop column holder`,
  `alter table reservations drop constraint reservations_kind`,
  `alter table reservations drop column kind`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
