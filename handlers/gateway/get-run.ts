import type { Handler } from '../../generated/gateway/operations';
import { readRun } from '../../src/gateway/runs';

/** GET /v1/runs/{runId} — a recent run of this replica, to its widget session or its project's members and keys. */
export const getRun: Handler<'getRun'> = async (req, ctx) => ({
  status: 200,
  body: await readRun(ctx.deps, ctx.caller, req.params.runId, ctx),
});
