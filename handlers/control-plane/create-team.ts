import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { createTeam as addTeam } from '../../src/tenancy/teams';

/** POST /orgs/{orgId}/teams */
export const createTeam: Handler<'createTeam'> = async (req, ctx) => ({
  status: 201,
  body: wire(await addTeam(ctx.deps.db, userPrincipal(ctx), { orgId: req.params.orgId, ...req.body })),
});
