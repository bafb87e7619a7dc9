import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { getProject as loadProject } from '../../src/tenancy/orgs';

/** GET /projects/{projectId} */
export const getProject: Handler<'getProject'> = async (req, ctx) => ({
  status: 200,
  body: wire(await loadProject(ctx.deps.db, userPrincipal(ctx), req.params.projectId)),
});
