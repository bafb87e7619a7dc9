/**
 * Sign-in bookkeeping on the control plane: every verified user token that reaches it keeps the
 * user's row current (`ensureUser`: email, name, email verification) and claims the pending
 * user of a verified email — so a buyer who paid before ever signing in owns that workspace on
 * their first call (GET /orgs included), whatever that call is.
 *
 * Cheap on the request path: a principal is synced once per (subject, email, verified, name) and
 * process, then remembered for `ttlMs` (bounded LRU). Safe to remember: after a user's verified
 * email is stored, an order for that email routes to the user itself (never to a new pending
 * user), and the per-email lock in `ensureUser` orders a concurrent order and sign-in.
 */
import type { Knex } from 'knex';
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import type { SecurityResolver } from '../platform/http/create-service-app';
import type { Logger } from '../platform/logger';
import { ensureUser, isPendingSubject } from './users';

export type UserSync = (principal: Principal) => Promise<void>;

export interface UserSyncOptions {
  log?: Logger;
  /** Remembered principals (LRU). Default 10,000. */
  maxEntries?: number;
  /** How long a synced principal is remembered. Default 10 minutes. */
  ttlMs?: number;
  now?: () => number;
}

export function createUserSync(db: Knex, opts: UserSyncOptions = {}): UserSync {
  const maxEntries = opts.maxEntries ?? 10_000;
  const ttlMs = opts.ttlMs ?? 10 * 60_000;
  const now = opts.now ?? Date.now;
  const seen = new Map<string, { sig: string; at: number }>();
  const inFlight = new Map<string, Promise<void>>();

  return async (principal) => {
    if (principal.kind !== 'user') return;
    if (isPendingSubject(principal.subject)) throw new AppError('FORBIDDEN', 'This subject is reserved');
    const sig = JSON.stringify([principal.email ?? null, principal.emailVerified ?? null, principal.name ?? null]);
    const hit = seen.get(principal.subject);
    if (hit && hit.sig === sig && now() - hit.at < ttlMs) return;
    const flightKey = `${principal.subject}\u0000${sig}`;
    let flight = inFlight.get(flightKey);
    if (!flight) {
      flight = ensureUser(db, principal)
        .then(() => {
          seen.delete(principal.subject);
          seen.set(principal.subject, { sig, at: now() });
          if (seen.size > maxEntries) seen.delete(seen.keys().next().value!);
        })
        .finally(() => inFlight.delete(flightKey));
      inFlight.set(flightKey, flight);
    }
    try {
      await flight;
    } catch (err) {
      // Not remembered, so the next request tries again; the request itself goes on (what it
      // needs from the database fails on its own if the database is the problem).
      opts.log?.warn({ err, userId: principal.subject }, 'user sync failed');
    }
  };
}

/** Wraps a bearer resolver so every verified user token is synced before the handler runs. */
export function withUserSync(resolver: SecurityResolver, sync: UserSync): SecurityResolver {
  return async (input) => {
    const caller = await resolver(input);
    if (caller?.kind === 'user' && caller.principal) await sync(caller.principal);
    return caller;
  };
}
