import type { Handler } from '../../generated/control-plane/operations';
import { listEventRows } from '../../src/instances/queries';
import { toInstanceEvent } from '../../src/instances/rows';

/** GET /instances/{instanceId}/events — the lifecycle history, oldest first. */
export const listInstanceEvents: Handler<'listInstanceEvents'> = async (req, ctx) => {
  const page = await listEventRows(ctx.deps.db, req.params.instanceId, req.query.cursor, req.query.limit ?? 50);
  return { status: 200, body: { items: page.rows.map(toInstanceEvent), nextCursor: page.nextCursor } };
};
