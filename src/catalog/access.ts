/**
 * Who may do what in the catalog (a single-publisher store):
 * - authoring (create/update/transition offerings, create/certify versions, Langflow publishing)
 *   needs the `publisher-admin` realm role on the caller's token;
 * - browsing needs no login; without that role only what is on sale is listed, offerings that
 *   are paused or at end of sale can still be opened by id (their `lifecycle` says so), and
 *   drafts and end-of-life offerings answer 404, exactly like a missing one.
 */
import { AppError } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';

export const PUBLISHER_ADMIN_ROLE = 'publisher-admin';

export function isPublisherAdmin(caller: Caller | undefined): boolean {
  return caller?.kind === 'user' && caller.roles.has(PUBLISHER_ADMIN_ROLE);
}

/** 403 FORBIDDEN unless the caller's token carries `publisher-admin`. */
export function requirePublisherAdmin(caller: Caller | undefined): void {
  if (!isPublisherAdmin(caller)) {
    throw new AppError('FORBIDDEN', 'Catalog authoring needs the publisher-admin role', { requiredRole: PUBLISHER_ADMIN_ROLE });
  }
}

/** The actor recorded on catalog changes. */
export function actorOf(caller: Caller | undefined): string | null {
  return caller ? caller.subject : null;
}
