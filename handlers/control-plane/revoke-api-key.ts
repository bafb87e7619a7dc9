import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { revokeApiKey as revoke } from '../../src/tenancy/project-api-keys';

/** POST /projects/{projectId}/api-keys/{keyId}/revoke */
export const revokeApiKey: Handler<'revokeApiKey'> = async (req, ctx) => ({
  status: 200,
  body: wire(await revoke(ctx.deps.db, userPrincipal(ctx), req.params)),
});
