import type { Handler } from '../../generated/gateway/operations';
import { noWaits, waitHeaders, withWaits } from '../../src/gateway/overhead';
import { createRun as run } from '../../src/gateway/runs';

/** POST /v1/runs — authenticate, entitlements, rate limit, authorize, Runner, settle (src/gateway/runs.ts). */
export const createRun: Handler<'createRun'> = async (req, ctx) => {
  const waits = noWaits();
  try {
    const { body, headers } = await run(ctx.deps, ctx.caller, req.body, req.headers['idempotency-key'], ctx, waits);
    return { status: 200, body, headers: { ...headers, ...waitHeaders(waits) } };
  } catch (err) {
    throw withWaits(err, waits);
  }
};
