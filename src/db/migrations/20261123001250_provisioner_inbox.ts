import type { Knex } from 'knex';

/**
 * The Provisioner's inbox, Saleor instance scoping of its records, and the Saleor app's installations.
 *
 * - provisioner_inbox: one row per verified ORDER_FULLY_PAID webhook, per Saleor instance and
 *   order (`saleor_api_url`, `order_id`): the webhook is answered as soon as its row is written,
 *   and the inbox worker delivers it to the Control Plane afterwards (`queued` → `delivered`, or
 *   `dead_lettered` when a line ended in the dead-letter store). A redelivery by Saleor finds the
 *   row and only counts `deliveries`. `locked_until` is the lease of the worker delivering it (a
 *   crashed worker's lease runs out and another picks the row up); `next_attempt_at` its retry
 *   schedule; `lines` the per-line outcome. Holds the parsed order, never the signature.
 * - provisioner_dead_letters: a line is named by its Saleor instance too — two Saleor instances
 *   may send the same order and line ids — so the unique key becomes (saleor_api_url, order_id,
 *   line_id), and the stored key and request move to the instance-scoped form
 *   `saleor:<first 16 hex of sha256(saleor_api_url)>:<orderId>:<lineId>` (src/commerce/saleor-keys.ts).
 * - saleor_app_installations: Saleor instances that installed the app (POST /api/register): the
 *   app id and where its token lives in the secret store — never the token itself.
 * The statements run one by one: PGlite's extended protocol takes one command per query.
 */
const UP = [
  `create table provisioner_inbox (
     id text primary key,
     saleor_api_url text not null,
     order_id text not null,
     order_number text,
     payload_form text not null,
     "order" jsonb not null,
     signed_with text not null,
     jws_header text,
     status text not null default 'queued',
     lines jsonb not null default '{}'::jsonb,
     attempts integer not null default 0,
     deliveries integer not null default 1,
     next_attempt_at timestamptz not null,
     locked_until timestamptz,
     last_error jsonb,
     request_id text,
     received_at timestamptz not null,
     updated_at timestamptz not null,
     completed_at timestamptz,
     constraint provisioner_inbox_order_uq unique (saleor_api_url, order_id),
     constraint provisioner_inbox_status check (status in ('queued', 'delivered', 'dead_lettered')),
     constraint provisioner_inbox_form check (payload_form in ('subscription', 'legacy')),
     constraint provisioner_inbox_signed_with check (signed_with in ('jws', 'hmac')),
     constraint provisioner_inbox_completed_has_time check (status = 'queued' or completed_at is not null)
   )`,
  `create index provisioner_inbox_due_idx on provisioner_inbox (next_attempt_at, id) where status = 'queued'`,
  `create index provisioner_inbox_status_idx on provisioner_inbox (status, id desc)`,
  `update provisioner_dead_letters set saleor_api_url = '' where saleor_api_url is null`,
  `update provisioner_dead_letters set
     idempotency_key = 'saleor:' || substr(encode(sha256(convert_to(saleor_api_url, 'UTF8')), 'hex'), 1, 16) || ':' || order_id || ':' || line_id,
     request = case when request is null then null else jsonb_set(request, '{saleorApiUrl}', to_jsonb(saleor_api_url)) end
   where saleor_api_url <> ''`,
  `alter table provisioner_dead_letters alter column saleor_api_url set not null`,
  `alter table provisioner_dead_letters drop constraint provisioner_dead_letters_line_uq`,
  `alter table provisioner_dead_letters add constraint provisioner_dead_letters_line_uq unique (saleor_api_url, order_id, line_id)`,
  `create table saleor_app_installations (
     saleor_api_url text primary key,
     app_id text not null,
     secret_path text not null,
     secret_version integer not null,
     saleor_domain text,
     schema_version text,
     installed_at timestamptz not null,
     updated_at timestamptz not null
   )`,
];

const DOWN = [
  `drop table saleor_app_installations`,
  `drop table provisioner_inbox`,
  `alter table provisioner_dead_letters drop constraint provisioner_dead_letters_line_uq`,
  `alter table provisioner_dead_letters add constraint provisioner_dead_letters_line_uq unique (order_id, line_id)`,
  `alter table provisioner_dead_letters alter column saleor_api_url drop not null`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
