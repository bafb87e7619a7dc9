import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { createProject as addProject } from '../../src/tenancy/orgs';

/** POST /orgs/{orgId}/projects */
export const createProject: Handler<'createProject'> = async (req, ctx) => ({
  status: 201,
  body: wire(await addProject(ctx.deps.db, userPrincipal(ctx), { orgId: req.params.orgId, ...req.body })),
});
