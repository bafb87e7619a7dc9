import type { Handler } from '../../generated/control-plane/operations';
import { releaseSession } from '../../src/runs/handovers';

/**
 * POST /instances/{instanceId}/sessions/{sessionId}/release — the session's open hand-overs end
 * (src/runs/handovers.ts): the model answers its next run again; one `session_released` event each.
 */
export const releaseInstanceSession: Handler<'releaseInstanceSession'> = async (req, ctx) => {
  const actor = ctx.caller?.subject ?? 'unknown';
  const items = await releaseSession(ctx.deps.db, req.params.instanceId, req.params.sessionId, actor);
  ctx.annotate({ instanceId: req.params.instanceId, released: items.length });
  return { status: 200, body: { items } };
};
