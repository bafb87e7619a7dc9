import type { Handler } from '../../generated/control-plane/operations';
import { historyScope, listSessions } from '../../src/runs/history';

/** GET /instances/{instanceId}/sessions — the caller's own chat sessions, most recently active first. */
export const listInstanceSessions: Handler<'listInstanceSessions'> = async (req, ctx) => {
  const scope = await historyScope(ctx.deps.db, ctx.caller, req.params.instanceId, req.query.owner);
  return { status: 200, body: await listSessions(ctx.deps.db, scope, { cursor: req.query.cursor, limit: req.query.limit }) };
};
