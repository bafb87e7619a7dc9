import type { Handler } from '../../generated/gateway/operations';
import { noWaits, waitHeaders, withWaits } from '../../src/gateway/overhead';
import { createRunStream, wantsStream } from '../../src/gateway/run-stream';
import { createRun as run } from '../../src/gateway/runs';

/**
 * POST /v1/runs — authenticate, entitlements, limits, authorize, Runner, settle
 * (src/gateway/runs.ts); as Server-Sent Events with `Accept: text/event-stream` or `stream: true`
 * (src/gateway/run-stream.ts).
 */
export const createRun: Handler<'createRun'> = async (req, ctx) => {
  const waits = noWaits();
  try {
    if (wantsStream(req.body, req.headers.accept)) {
      const { stream, headers } = await createRunStream(ctx.deps, ctx.caller, req.body, req.headers['idempotency-key'], ctx, waits);
      // The overhead header of a stream covers the gateway's time up to its first byte.
      return { status: 200, body: stream, contentType: 'text/event-stream; charset=utf-8', headers: { ...headers, ...waitHeaders(waits) } };
    }
    const { body, headers } = await run(ctx.deps, ctx.caller, req.body, req.headers['idempotency-key'], ctx, waits);
    return { status: 200, body, headers: { ...headers, ...waitHeaders(waits) } };
  } catch (err) {
    throw withWaits(err, waits);
  }
};
