import type { Handler } from '../../generated/gateway/operations';
import { runnerTimeHeader, withRunnerTime } from '../../src/gateway/overhead';
import { createRun as run, type RunTiming } from '../../src/gateway/runs';

/** POST /v1/runs — authenticate, entitlements, rate limit, authorize, Runner, settle (src/gateway/runs.ts). */
export const createRun: Handler<'createRun'> = async (req, ctx) => {
  const timing: RunTiming = { runnerMs: 0 };
  try {
    const { body, headers } = await run(ctx.deps, ctx.caller, req.body, req.headers['idempotency-key'], ctx, timing);
    return { status: 200, body, headers: { ...headers, ...runnerTimeHeader(timing.runnerMs) } };
  } catch (err) {
    throw withRunnerTime(err, timing.runnerMs);
  }
};
