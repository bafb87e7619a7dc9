import type { Knex } from 'knex';

/**
 * Buyers known only by email (src/tenancy/users.ts, src/commerce/order-paid.ts).
 *
 * - `users.email_verified`: the identity provider said the user controls `email`
 *   (`email_verified` claim). Only verified emails are trusted to route a paid order to an
 *   existing account or to claim a pending one.
 * - `users.pending`: a placeholder user for a buyer who paid before ever signing in. It owns the
 *   personal workspace the order created; the first sign-in with the same *verified* email
 *   moves that workspace (ownership and memberships) to the real subject and deletes the
 *   placeholder. At most one pending user per email (case-insensitive).
 * The statements run one by one: PGlite's extended protocol takes one command per query.
 */
const UP = [
  `alter table users add column email_verified boolean not null default false`,
  `alter table users add column pending boolean not null default false`,
  `alter table users add constraint users_pending_has_email check (not pending or email is not null)`,
  `create unique index users_pending_email_uq on users (lower(email)) where pending`,
];

const DOWN = [
  'drop index users_pending_email_uq',
  'alter table users drop constraint users_pending_has_email',
  'alter table users drop column pending',
  'alter table users drop column email_verified',
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
