import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** DELETE /orgs/{orgId}/members/{userId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const removeOrgMember: Handler<'removeOrgMember'> = notImplemented('removeOrgMember');
