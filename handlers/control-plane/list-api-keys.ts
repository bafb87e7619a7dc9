import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { listApiKeys as loadKeys } from '../../src/tenancy/project-api-keys';

/** GET /projects/{projectId}/api-keys */
export const listApiKeys: Handler<'listApiKeys'> = async (req, ctx) => ({
  status: 200,
  body: wire(await loadKeys(ctx.deps.db, userPrincipal(ctx), req.params.projectId, req.query)),
});
