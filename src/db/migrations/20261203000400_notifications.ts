import type { Knex } from 'knex';

/**
 * Notifications (src/notifications): where an org wants to hear about its account, and the one
 * durable outbox every notification of the platform goes through.
 *
 * - notification_endpoints: one per org — a webhook `url` (its signing secret lives in the secret
 *   store at `notifications/<orgId>/webhook`, version `secret_version`; never in the database),
 *   and/or e-mail: an `email` address and/or the org's admins (`email_admins`).
 * - notification_outbox: one row per notification and channel, written in the same transaction as
 *   the fact that causes it (a settle that crossed the low-balance threshold, a suspension). The
 *   worker claims due rows (`next_attempt_at` passed, no live lease `locked_until`) with
 *   `FOR UPDATE SKIP LOCKED`, delivers, and records the attempt: `delivered_at`, or the next try
 *   (exponential backoff with jitter) and `last_error`, or `dead` after the last attempt.
 *   `dedupe_key` makes enqueuing the same fact twice a no-op.
 * The statements run one by one: PGlite's extended protocol takes one command per query.
 */
const UP = [
  `create table notification_endpoints (
     org_id text primary key references orgs(id) on delete cascade,
     url text,
     email text,
     email_admins boolean not null default false,
     secret_version integer,
     created_at timestamptz not null,
     updated_at timestamptz not null,
     constraint notification_endpoints_some_channel check (url is not null or email is not null or email_admins)
   )`,
  `create table notification_outbox (
     id text primary key,
     org_id text not null references orgs(id) on delete cascade,
     kind text not null,
     channel text not null,
     payload jsonb not null,
     recipients jsonb,
     dedupe_key text,
     attempts integer not null default 0,
     next_attempt_at timestamptz not null,
     locked_until timestamptz,
     delivered_at timestamptz,
     last_status integer,
     last_error text,
     dead boolean not null default false,
     created_at timestamptz not null,
     updated_at timestamptz not null,
     constraint notification_outbox_channel check (channel in ('webhook', 'email')),
     constraint notification_outbox_done_once check (not (dead and delivered_at is not null)),
     constraint notification_outbox_dedupe_uq unique (channel, dedupe_key)
   )`,
  `create index notification_outbox_due_idx on notification_outbox (next_attempt_at, id) where delivered_at is null and not dead`,
  `create index notification_outbox_org_idx on notification_outbox (org_id, id desc)`,
];

const DOWN = [`drop table notification_outbox`, `drop table notification_endpoints`];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
