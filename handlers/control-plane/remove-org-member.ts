import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { removeMember } from '../../src/tenancy/members';

/** DELETE /orgs/{orgId}/members/{userId} */
export const removeOrgMember: Handler<'removeOrgMember'> = async (req, ctx) => {
  await removeMember(ctx.deps.db, userPrincipal(ctx), req.params);
  return { status: 204, body: undefined };
};
