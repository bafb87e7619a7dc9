import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { createApiKey as issueKey } from '../../src/tenancy/project-api-keys';

/** POST /projects/{projectId}/api-keys — the secret is answered once */
export const createApiKey: Handler<'createApiKey'> = async (req, ctx) => ({
  status: 201,
  body: wire(await issueKey(ctx.deps.db, userPrincipal(ctx), { projectId: req.params.projectId, ...req.body })),
});
