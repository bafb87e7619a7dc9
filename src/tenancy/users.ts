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
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import { inTransaction, one, rows, type Db } from '../db/tx';

export interface UserRow {
  id: string;
  email: string | null;
  name: string | null;
  /** The identity provider vouched for `email` (last time it was seen). */
  email_verified: boolean;
  /** A placeholder for a buyer known only by email (see the module comment). */
  pending: boolean;
  created_at: Date;
  updated_at: Date;
}

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
    await trx.raw('insert into users (id, email, name, email_verified) values (?, ?, ?, ?) on conflict (id) do nothing', [
      principal.subject,
      email,
      name,
      claimEmail !== null,
    ]);
    let row = (await one<UserRow>(trx, `select ${USER_COLUMNS} from users where id = ?`, [principal.subject]))!;
    if (row.pending) return row;
    const nextEmail = email ?? row.email;
    const emailChanged = email !== null && email.toLowerCase() !== (row.email ?? '').toLowerCase();
    // `emailVerified` is only known alongside an email; without one the last verdict stands,
    // unless the email itself changed (a new address is unverified until the IdP says so).
    const nextVerified = principal.emailVerified !== undefined && email !== null ? principal.emailVerified : emailChanged ? false : row.email_verified;
    const nextName = name ?? row.name;
    if (nextEmail !== row.email || nextName !== row.name || nextVerified !== row.email_verified) {
      row = (await one<UserRow>(
        trx,
        `update users set email = ?, name = ?, email_verified = ?, updated_at = now() where id = ? returning ${USER_COLUMNS}`,
        [nextEmail, nextName, nextVerified, principal.subject],
      ))!;
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
  const pending = await one<{ id: string }>(trx, 'select id from users where pending and lower(email) = lower(?) for update', [email]);
  if (!pending) return undefined;
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
  await trx.raw('update api_keys set created_by = ? where created_by = ?', [userId, pending.id]);
  await trx.raw('delete from users where id = ? and pending', [pending.id]);
  const orgIds = [...new Set([...orgs.map((o) => o.id), ...memberships.map((m) => m.org_id)])].sort();
  return { pendingUserId: pending.id, orgIds };
}

export async function findUser(db: Db, id: string): Promise<UserRow | undefined> {
  return one<UserRow>(db, `select ${USER_COLUMNS} from users where id = ?`, [id]);
}

/**
 * The signed-in user holding `email` verified, if any. Keycloak keeps emails unique per realm,
 * so several rows mean the address moved between accounts: the most recently updated one (the
 * account that last signed in with it) wins.
 */
export async function findVerifiedUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return one<UserRow>(
    db,
    `select ${USER_COLUMNS} from users where lower(email) = lower(?) and email_verified and not pending
      order by updated_at desc, created_at desc, id limit 1`,
    [email],
  );
}

/** The pending user of `email`, created if there is none. The caller holds `lockEmail(email)`. */
export async function ensurePendingUser(db: Db, email: string): Promise<{ user: UserRow; created: boolean }> {
  const inserted = await one<UserRow>(
    db,
    `insert into users (id, email, pending) values (?, ?, true)
     on conflict ((lower(email))) where pending do nothing returning ${USER_COLUMNS}`,
    [newId(PENDING_USER_PREFIX.slice(0, -1)), email.trim()],
  );
  if (inserted) return { user: inserted, created: true };
  const existing = await one<UserRow>(db, `select ${USER_COLUMNS} from users where pending and lower(email) = lower(?)`, [email.trim()]);
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
