/**
 * Platform users: one row per identity-provider subject (`users.id` = token `sub`), plus
 * **pending users** — placeholders for buyers who paid before they ever signed in.
 *
 * A paid order names its buyer by email (and sometimes by Keycloak subject). When no account
 * holds that email *verified*, the order's workspace is created for a pending user
 * (`pending = true`, id `pending_<ulid>`, at most one per email). The buyer's first sign-in with a
 * token whose `email_verified` is true for the same email claims it (`ensureUser` →
 * `claimPendingUser`, one transaction): the pending user's orgs, memberships, team seats and API
 * keys move to the real subject and the placeholder is deleted. An unverified email claims
 * nothing, so nobody can take a purchase by registering someone else's address.
 *
 * The two sides are serialized per email by a transaction-scoped advisory lock (`lockEmail`):
 * either the order sees the signed-in user (and uses their account), or the sign-in sees the
 * pending user (and claims it) — never neither.
 */
import { fn } from 'objection';
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import { inTransaction, one, rows, type Db } from '../db/tx';
import { ApiKeyModel, UserModel } from './models';

/**
 * A user: `email_verified` — the identity provider vouched for `email` (last time it was seen);
 * `pending` — a placeholder for a buyer known only by email (see the module comment).
 */
export type UserRow = Pick<UserModel, 'id' | 'email' | 'name' | 'email_verified' | 'pending' | 'created_at' | 'updated_at'>;

const USER_COLUMNS = 'id, email, name, email_verified, pending, created_at, updated_at';
export const PENDING_USER_PREFIX = 'pending_';

/** Serializes everything that routes or claims by this email until the transaction ends. */
export async function lockEmail(trx: Db, email: string): Promise<void> {
  await trx.raw(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [`user-email:${email.trim().toLowerCase()}`]);
}

/**
 * Makes sure the caller has a `users` row (id = token subject) and that its email, name and
 * email verification follow the identity provider (writes only when something changed). With a
 * verified email it also claims the pending user of that email, if any. Service principals are
 * not users. A pending user's own row (commerce acting for it, `principalOfUser`) is left as is.
 */
export async function ensureUser(db: Db, principal: Principal): Promise<UserRow> {
  if (principal.kind !== 'user') throw new AppError('FORBIDDEN', 'Service accounts are not platform users');
  const email = principal.email ?? null;
  const name = principal.name ?? null;
  const claimEmail = email !== null && principal.emailVerified === true ? email : null;
  return inTransaction(db, async (trx) => {
    if (claimEmail !== null) await lockEmail(trx, claimEmail);
    await UserModel.query(trx).insert({ id: principal.subject, email, name, email_verified: claimEmail !== null }).onConflict('id').ignore();
    let row: UserRow = (await UserModel.query(trx).findById(principal.subject))!;
    if (row.pending) return row;
    const nextEmail = email ?? row.email;
    const emailChanged = email !== null && email.toLowerCase() !== (row.email ?? '').toLowerCase();
    // `emailVerified` is only known alongside an email; without one the last verdict stands,
    // unless the email itself changed (a new address is unverified until the IdP says so).
    const nextVerified = principal.emailVerified !== undefined && email !== null ? principal.emailVerified : emailChanged ? false : row.email_verified;
    const nextName = name ?? row.name;
    if (nextEmail !== row.email || nextName !== row.name || nextVerified !== row.email_verified) {
      row = (await UserModel.query(trx)
        .patch({ email: nextEmail, name: nextName, email_verified: nextVerified, updated_at: fn.now() })
        .where('id', principal.subject)
        .returning('*')
        .first())!;
    }
    if (claimEmail !== null) await claimPendingUser(trx, principal.subject, claimEmail);
    return row;
  });
}

export interface ClaimResult {
  pendingUserId: string;
  orgIds: string[];
}

/**
 * Moves the pending user of `email` (if any) to the real user `userId`: org ownership (a
 * personal org stays personal unless the user already has one, then it becomes a regular org
 * they own), memberships, team seats, API keys; then deletes the placeholder. The caller holds
 * `lockEmail(email)` and has verified that `userId` controls `email`.
 */
export async function claimPendingUser(trx: Db, userId: string, email: string): Promise<ClaimResult | undefined> {
  const pending = await UserModel.query(trx).select('id').where('pending', true).whereRaw('lower(email) = lower(?)', [email]).forUpdate().first();
  if (!pending) return undefined;
  // Set-based moves (an update whose value depends on the other rows, insert … select … on
  // conflict) stay in SQL: as model queries they would become a read and a write per row.
  const orgs = await rows<{ id: string }>(
    trx,
    `update orgs set owner_user_id = ?,
            personal = personal and not exists (select 1 from orgs o where o.personal and o.owner_user_id = ?)
      where owner_user_id = ? returning id`,
    [userId, userId, pending.id],
  );
  const memberships = await rows<{ org_id: string }>(
    trx,
    `insert into memberships (org_id, user_id, role, created_at)
     select org_id, ?, role, created_at from memberships where user_id = ?
     on conflict (org_id, user_id) do nothing returning org_id`,
    [userId, pending.id],
  );
  await trx.raw(
    `insert into team_members (team_id, user_id, created_at) select team_id, ?, created_at from team_members where user_id = ?
     on conflict (team_id, user_id) do nothing`,
    [userId, pending.id],
  );
  await ApiKeyModel.query(trx).patch({ created_by: userId }).where('created_by', pending.id);
  await UserModel.query(trx).delete().where({ id: pending.id, pending: true });
  const orgIds = [...new Set([...orgs.map((o) => o.id), ...memberships.map((m) => m.org_id)])].sort();
  return { pendingUserId: pending.id, orgIds };
}

export async function findUser(db: Db, id: string): Promise<UserRow | undefined> {
  return UserModel.query(db).findById(id);
}

/**
 * The signed-in user holding `email` verified, if any. Keycloak keeps emails unique per realm,
 * so several rows mean the address moved between accounts: the most recently updated one (the
 * account that last signed in with it) wins.
 */
export async function findVerifiedUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return UserModel.query(db)
    .whereRaw('lower(email) = lower(?)', [email])
    .where({ email_verified: true, pending: false })
    .orderBy([{ column: 'updated_at', order: 'desc' }, { column: 'created_at', order: 'desc' }, 'id'])
    .first();
}

/** The pending user of `email`, created if there is none. The caller holds `lockEmail(email)`. */
export async function ensurePendingUser(db: Db, email: string): Promise<{ user: UserRow; created: boolean }> {
  // The conflict target is an expression index with a predicate (one pending user per
  // lower(email)), which only SQL can name.
  const inserted = await one<UserRow>(
    db,
    `insert into users (id, email, pending) values (?, ?, true)
     on conflict ((lower(email))) where pending do nothing returning ${USER_COLUMNS}`,
    [newId(PENDING_USER_PREFIX.slice(0, -1)), email.trim()],
  );
  if (inserted) return { user: inserted, created: true };
  const existing = await UserModel.query(db).where('pending', true).whereRaw('lower(email) = lower(?)', [email.trim()]).first();
  return { user: existing!, created: false };
}

/** True for subjects of the pending-user namespace, which no identity-provider token may carry. */
export function isPendingSubject(subject: string): boolean {
  return subject.startsWith(PENDING_USER_PREFIX);
}

/** A user row as a Principal, for tenancy services acting on the user's behalf (commerce). */
export function principalOfUser(u: UserRow): Principal {
  const p: Principal = { kind: 'user', subject: u.id, realmRoles: [], clientRoles: {}, roles: new Set(), scopes: [] };
  if (u.email !== null) p.email = u.email;
  if (u.name !== null) p.name = u.name;
  return p;
}
