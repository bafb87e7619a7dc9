import type { Handler } from '../../generated/control-plane/operations';
import { loadInstance } from '../../src/instances/access';
import { toInstance } from '../../src/instances/rows';

/** GET /instances/{instanceId} */
export const getInstance: Handler<'getInstance'> = async (req, ctx) => {
  const row = await loadInstance(ctx.deps.db, req.params.instanceId);
  const env = ctx.deps.instances;
  return { status: 200, body: toInstance(row, env.env, env.stuckAfterMs) };
};
