import type { Handler } from '../../generated/control-plane/operations';
import { eraseSession, historyScope } from '../../src/runs/history';

/** DELETE /instances/{instanceId}/sessions/{sessionId} — erase the caller's own session (right to erase), with the files of its runs. */
export const deleteInstanceSession: Handler<'deleteInstanceSession'> = async (req, ctx) => {
  const scope = await historyScope(ctx.deps.db, ctx.caller, req.params.instanceId, req.query.owner);
  const erased = await eraseSession(ctx.deps.db, scope, req.params.sessionId, ctx.deps.objectStore);
  ctx.annotate({ instanceId: req.params.instanceId, erasedRuns: erased });
  return { status: 204, body: undefined };
};
