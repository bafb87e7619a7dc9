import type { Knex } from 'knex';

/**
 * The usage journal (src/money/usage-journal.ts): a gateway replica records each quota run's
 * charge here with one autocommitted INSERT before the run's answer — a durable usage record,
 * like a CDR in online charging — and the Control Plane applies it to the ledger in batches.
 *
 * - `run_id` is the key: a run has at most one charge, and a retry after an unknown outcome
 *   (ON CONFLICT DO NOTHING) finds its first row.
 * - `charge` is the charge as the gateway would have sent it over HTTP (QuotaRunCharge);
 *   `requested` and `charged` are what the run's answer said (min(metered, hold)).
 * - A row is applied once: `applied_at` and `outcome` are set together (charged, or refused with
 *   `error_code` when the Control Plane could not charge it: the run was recorded uncharged).
 *   Rows are kept after that (the sweeper deletes applied rows after a day), so the key keeps
 *   excluding a second charge while a gateway could still retry.
 * - The pending rows are few (applied within milliseconds): partial indexes find them by wallet
 *   and quota for the reads and quota changes that apply them first (an org's or an instance's
 *   through their wallets). Few indexes: each one is written twice per run (insert, applied).
 * - The insert holds a KEY SHARE lock on its quota (the foreign key, and the insert's own check
 *   that the quota is open): a release or an expiry locks the quota FOR UPDATE first, so it
 *   waits for inserts in flight and then sees their rows. No foreign key on the wallet: its
 *   FOR UPDATE lock, which every money transaction takes, would make inserts wait for them.
 */
const UP = [
  `create table usage_journal (
     run_id text primary key,
     reservation_id text not null,
     quota_id text not null references reservations(id),
     wallet_id text not null,
     org_id text not null,
     instance_id text not null,
     requested bigint not null check (requested >= 0),
     charged bigint not null check (charged >= 0),
     charge jsonb not null,
     created_at timestamptz not null default now(),
     applied_at timestamptz,
     outcome text check (outcome in ('charged', 'refused')),
     error_code text,
     constraint usage_journal_applied check ((applied_at is null) = (outcome is null))
   )`,
  `create index usage_journal_pending on usage_journal (created_at) where applied_at is null`,
  `create index usage_journal_pending_wallet on usage_journal (wallet_id) where applied_at is null`,
  `create index usage_journal_pending_quota on usage_journal (quota_id) where applied_at is null`,
  // An applied row never changes again, and a pending row is never deleted.
  `create or replace function usage_journal_apply_once() returns trigger
     language plpgsql as $fn$
   begin
     if tg_op = 'DELETE' then
       if old.applied_at is null then
         raise exception 'usage journal row % is not applied yet', old.run_id using errcode = 'restrict_violation';
       end if;
       return old;
     end if;
     if old.applied_at is not null then
       raise exception 'usage journal row % is already applied', old.run_id using errcode = 'restrict_violation';
     end if;
     if new.run_id <> old.run_id or new.charged <> old.charged or new.requested <> old.requested or new.quota_id <> old.quota_id or new.charge <> old.charge then
       raise exception 'usage journal row % is immutable', old.run_id using errcode = 'restrict_violation';
     end if;
     return new;
   end
   $fn$`,
  `create trigger usage_journal_apply_once before update or delete on usage_journal for each row execute function usage_journal_apply_once()`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists usage_journal');
  await knex.raw('drop function if exists usage_journal_apply_once()');
}
