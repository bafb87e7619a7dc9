import type { Handler } from '../../generated/gateway/operations';
import { readRun } from '../../src/gateway/runs';

/** GET /v1/runs/{runId} — the run's durable record from the Control Plane (any replica answers). */
export const getRun: Handler<'getRun'> = async (req, ctx) => ({
  status: 200,
  body: await readRun(ctx.deps, ctx.caller, req.params.runId, ctx),
});
