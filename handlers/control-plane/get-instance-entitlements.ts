import type { Handler } from '../../generated/control-plane/operations';
import { loadInstance } from '../../src/instances/access';
import { entitlementsOf } from '../../src/instances/entitlements';

/** GET /instances/{instanceId}/entitlements — what the gateway enforces on every run. */
export const getInstanceEntitlements: Handler<'getInstanceEntitlements'> = async (req, ctx) => {
  const row = await loadInstance(ctx.deps.db, req.params.instanceId);
  return { status: 200, body: await entitlementsOf(ctx.deps.db, row) };
};
