import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { addMember } from '../../src/tenancy/members';

/** POST /orgs/{orgId}/members */
export const addOrgMember: Handler<'addOrgMember'> = async (req, ctx) => ({
  status: 201,
  body: wire(await addMember(ctx.deps.db, userPrincipal(ctx), { orgId: req.params.orgId, ...req.body })),
});
