import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { listMembers } from '../../src/tenancy/members';

/** GET /orgs/{orgId}/members */
export const listOrgMembers: Handler<'listOrgMembers'> = async (req, ctx) => ({
  status: 200,
  body: wire(await listMembers(ctx.deps.db, userPrincipal(ctx), req.params.orgId, req.query)),
});
