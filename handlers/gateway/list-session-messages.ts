import type { Handler } from '../../generated/gateway/operations';
import { listSessionMessages as list } from '../../src/gateway/run-history';

/** GET /v1/sessions/{sessionId}/messages — one of the caller's sessions, oldest first. */
export const listSessionMessages: Handler<'listSessionMessages'> = async (req, ctx) => ({
  status: 200,
  body: await list(ctx.deps, ctx.caller, req.params.sessionId, req.query, ctx),
});
