import type { Knex } from 'knex';

/**
 * The money path: wallets, the append-only ledger, reservations (two-phase authorize/settle).
 *
 * Invariants held by the database itself, whatever the code does:
 * - wallets: balance ≥ 0, reserved ≥ 0, reserved ≤ balance, balance = paid + granted;
 * - ledger_entries: append-only (UPDATE/DELETE/TRUNCATE raise), one seq per wallet,
 *   the sign of `amount` follows `kind`, at most one debit row per (reservation, credit type);
 * - reservations: resolved at most once (a trigger refuses any change to a resolved row),
 *   at most one reservation per (wallet, run).
 * The statements run one by one: PGlite's extended protocol takes one command per query.
 */
const UP = [
  `create table wallets (
     id text primary key,
     org_id text not null references orgs(id) on delete restrict,
     project_id text references projects(id) on delete restrict,
     balance bigint not null default 0,
     reserved bigint not null default 0,
     paid_balance bigint not null default 0,
     granted_balance bigint not null default 0,
     low_balance_threshold bigint,
     last_seq bigint not null default 0,
     version bigint not null default 0,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now(),
     constraint wallets_balance_nonneg check (balance >= 0),
     constraint wallets_reserved_nonneg check (reserved >= 0),
     constraint wallets_reserved_le_balance check (reserved <= balance),
     constraint wallets_split_nonneg check (paid_balance >= 0 and granted_balance >= 0),
     constraint wallets_balance_is_split check (balance = paid_balance + granted_balance),
     constraint wallets_threshold_nonneg check (low_balance_threshold is null or low_balance_threshold >= 0)
   )`,
  `create index wallets_org_idx on wallets (org_id)`,
  `create index wallets_project_idx on wallets (project_id) where project_id is not null`,

  `create table reservations (
     id text primary key,
     wallet_id text not null references wallets(id) on delete restrict,
     instance_id text,
     run_id text,
     amount bigint not null,
     status text not null default 'open',
     expires_at timestamptz not null,
     settled_entry_id text,
     requested bigint,
     charged bigint,
     overage boolean not null default false,
     usage jsonb,
     resolved_at timestamptz,
     created_at timestamptz not null default now(),
     constraint reservations_amount_pos check (amount > 0),
     constraint reservations_status check (status in ('open', 'settled', 'voided', 'expired')),
     constraint reservations_resolution check (
       (status = 'open' and resolved_at is null and settled_entry_id is null and charged is null)
       or (status = 'settled' and resolved_at is not null and settled_entry_id is not null
           and charged is not null and charged >= 0 and requested is not null and requested >= 0)
       or (status in ('voided', 'expired') and resolved_at is not null
           and settled_entry_id is null and charged is null))
   )`,
  `create unique index reservations_wallet_run_uq on reservations (wallet_id, run_id) where run_id is not null`,
  `create index reservations_open_expiry_idx on reservations (expires_at) where status = 'open'`,
  `create index reservations_wallet_open_idx on reservations (wallet_id, expires_at) where status = 'open'`,

  `create table ledger_entries (
     id text primary key,
     wallet_id text not null references wallets(id) on delete restrict,
     seq bigint not null,
     kind text not null,
     credit_type text not null,
     amount bigint not null,
     balance_after bigint not null,
     reservation_id text references reservations(id) on delete restrict,
     run_id text,
     reference text,
     metadata jsonb not null default '{}'::jsonb,
     created_at timestamptz not null default now(),
     constraint ledger_wallet_seq_uq unique (wallet_id, seq),
     constraint ledger_seq_pos check (seq > 0),
     constraint ledger_kind check (kind in ('grant', 'topup', 'debit', 'reversal', 'expiry')),
     constraint ledger_credit_type check (credit_type in ('paid', 'granted')),
     constraint ledger_balance_after_nonneg check (balance_after >= 0),
     constraint ledger_amount_sign check (
       (kind in ('grant', 'topup', 'reversal') and amount > 0)
       or (kind = 'debit' and amount <= 0)
       or (kind = 'expiry' and amount < 0)),
     constraint ledger_debit_has_reservation check (kind <> 'debit' or reservation_id is not null)
   )`,
  // A reservation is debited at most once per credit type: a DB-level guard against double charge.
  `create unique index ledger_one_debit_per_reservation_uq on ledger_entries (reservation_id, credit_type) where kind = 'debit'`,
  // A top-up/grant carrying an external reference (order line, idempotency key) lands once.
  `create unique index ledger_credit_reference_uq on ledger_entries (wallet_id, reference) where kind in ('topup', 'grant') and reference is not null`,
  `alter table reservations add constraint reservations_settled_entry_fk
     foreign key (settled_entry_id) references ledger_entries(id) on delete restrict`,

  // Append-only ledger, enforced by the database. Statement-level, so even a zero-row
  // UPDATE/DELETE is refused. (Production should also REVOKE UPDATE, DELETE, TRUNCATE on the
  // table from the application role; a superuser can still disable triggers.)
  `create or replace function ledger_entries_append_only() returns trigger
     language plpgsql as $fn$
   begin
     raise exception 'ledger_entries is append-only: % refused', tg_op
       using errcode = 'restrict_violation', hint = 'correct a ledger with a reversal entry';
   end
   $fn$`,
  `create trigger ledger_entries_append_only
     before update or delete on ledger_entries
     for each statement execute function ledger_entries_append_only()`,
  `create trigger ledger_entries_no_truncate
     before truncate on ledger_entries
     for each statement execute function ledger_entries_append_only()`,

  // A reservation is resolved exactly once: once it leaves 'open' it never changes again, and
  // its identity (wallet, amount) never changes at all.
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
  `create trigger reservations_resolve_once
     before update on reservations
     for each row execute function reservations_resolve_once()`,
];

const DOWN = [
  `alter table reservations drop constraint reservations_settled_entry_fk`,
  `drop table ledger_entries`,
  `drop table reservations`,
  `drop table wallets`,
  `drop function if exists ledger_entries_append_only()`,
  `drop function if exists reservations_resolve_once()`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
