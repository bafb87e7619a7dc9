import type { Handler } from '../../generated/control-plane/operations';
import { historyScope, listMessages } from '../../src/runs/history';

/** GET /instances/{instanceId}/sessions/{sessionId}/messages — one of the caller's sessions, oldest first. */
export const listInstanceSessionMessages: Handler<'listInstanceSessionMessages'> = async (req, ctx) => {
  const scope = await historyScope(ctx.deps.db, ctx.caller, req.params.instanceId, req.query.owner);
  return { status: 200, body: await listMessages(ctx.deps.db, scope, req.params.sessionId, { cursor: req.query.cursor, limit: req.query.limit }) };
};
