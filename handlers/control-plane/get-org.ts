import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { getOrg as loadOrg } from '../../src/tenancy/orgs';

/** GET /orgs/{orgId} */
export const getOrg: Handler<'getOrg'> = async (req, ctx) => ({
  status: 200,
  body: wire(await loadOrg(ctx.deps.db, userPrincipal(ctx), req.params.orgId)),
});
