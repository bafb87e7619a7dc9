import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { listProjects as loadProjects } from '../../src/tenancy/orgs';

/** GET /orgs/{orgId}/projects */
export const listProjects: Handler<'listProjects'> = async (req, ctx) => ({
  status: 200,
  body: wire(await loadProjects(ctx.deps.db, userPrincipal(ctx), req.params.orgId, { cursor: req.query.cursor, limit: req.query.limit })),
});
