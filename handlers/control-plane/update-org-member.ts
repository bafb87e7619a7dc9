import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** PATCH /orgs/{orgId}/members/{userId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const updateOrgMember: Handler<'updateOrgMember'> = notImplemented('updateOrgMember');
