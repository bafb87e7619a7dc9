/**
 * The catalog is a single-publisher store. Who may author it (create/update/transition
 * offerings, create/certify versions, Langflow publishing, artifact links) is policy/'s
 * (`publisher-admins-author-the-catalog`). Browsing needs no login: callers who may not author
 * see only what is on sale; offerings that are paused or at end of sale can still be opened by
 * id (their `lifecycle` says so), and drafts and end-of-life offerings answer 404, exactly like
 * a missing one. Handlers learn whether the caller is an author from the policy itself
 * (`ctx.allows('updateOffering')`).
 */
import type { Caller } from '../platform/http/handler-types';

/** The operation whose permission makes a caller an author, who sees what is not on sale. */
export const AUTHORING_OPERATION = 'updateOffering';

/** The subject recorded as the author of a catalog change (null for the system). */
export function authorSubject(caller: Caller | undefined): string | null {
  return caller ? caller.subject : null;
}
