import type { Handler } from '../../generated/gateway/operations';
import { listSessions as list } from '../../src/gateway/run-history';

/** GET /v1/sessions — the caller's own chat sessions on an instance. */
export const listSessions: Handler<'listSessions'> = async (req, ctx) => ({ status: 200, body: await list(ctx.deps, ctx.caller, req.query, ctx) });
