import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { listTeams as loadTeams } from '../../src/tenancy/teams';

/** GET /orgs/{orgId}/teams */
export const listTeams: Handler<'listTeams'> = async (req, ctx) => ({
  status: 200,
  body: wire(await loadTeams(ctx.deps.db, userPrincipal(ctx), req.params.orgId, req.query)),
});
