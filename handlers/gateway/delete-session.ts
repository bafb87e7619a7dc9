import type { Handler } from '../../generated/gateway/operations';
import { deleteSession as erase } from '../../src/gateway/run-history';

/** DELETE /v1/sessions/{sessionId} — erase the caller's own session (right to erase). */
export const deleteSession: Handler<'deleteSession'> = async (req, ctx) => {
  await erase(ctx.deps, ctx.caller, req.params.sessionId, req.query.instanceId, ctx);
  return { status: 204, body: undefined };
};
