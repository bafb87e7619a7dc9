import type { Handler } from '../../generated/gateway/operations';
import { listRuns as list } from '../../src/gateway/run-history';

/** GET /v1/runs — the instance's run history, newest first (src/gateway/run-history.ts). */
export const listRuns: Handler<'listRuns'> = async (req, ctx) => ({ status: 200, body: await list(ctx.deps, ctx.caller, req.query, ctx) });
