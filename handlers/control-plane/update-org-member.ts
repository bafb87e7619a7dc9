import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { updateMemberRole } from '../../src/tenancy/members';

/** PATCH /orgs/{orgId}/members/{userId} */
export const updateOrgMember: Handler<'updateOrgMember'> = async (req, ctx) => ({
  status: 200,
  body: wire(await updateMemberRole(ctx.deps.db, userPrincipal(ctx), { ...req.params, role: req.body.role })),
});
