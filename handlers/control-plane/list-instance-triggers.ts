import type { Handler } from '../../generated/control-plane/operations';
import { loadInstance } from '../../src/instances/access';
import { listTriggers } from '../../src/scheduler/triggers-api';

/** GET /instances/{instanceId}/triggers — schedules (next/last slot) and the webhook trigger. */
export const listInstanceTriggers: Handler<'listInstanceTriggers'> = async (req, ctx) => {
  const row = await loadInstance(ctx.deps.db, req.params.instanceId);
  return { status: 200, body: { items: await listTriggers(ctx.deps.db, row) } };
};
