import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { one, type Db } from '../db/tx';

export interface UserRow {
  id: string;
  email: string | null;
  name: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * Makes sure the caller has a `users` row (id = token subject) and that its email/name follow
 * the identity provider. Writes only when something changed, so calling it on every request is
 * cheap. Service principals are not users.
 */
export async function ensureUser(db: Db, principal: Principal): Promise<UserRow> {
  if (principal.kind !== 'user') throw new AppError('FORBIDDEN', 'Service accounts are not platform users');
  const email = principal.email ?? null;
  const name = principal.name ?? null;
  const upserted = await one<UserRow>(
    db,
    `insert into users (id, email, name) values (?, ?, ?)
     on conflict (id) do update
        set email = coalesce(excluded.email, users.email),
            name = coalesce(excluded.name, users.name),
            updated_at = now()
      where users.email is distinct from coalesce(excluded.email, users.email)
         or users.name is distinct from coalesce(excluded.name, users.name)
     returning id, email, name, created_at, updated_at`,
    [principal.subject, email, name],
  );
  if (upserted) return upserted;
  return (await one<UserRow>(db, 'select id, email, name, created_at, updated_at from users where id = ?', [principal.subject]))!;
}
