import type { Handler } from '../../generated/gateway/operations';
import { noWaits, waitHeaders, withWaits } from '../../src/gateway/overhead';
import { withRunSpan } from '../../src/gateway/run-span';
import { createRunStream, wantsStream } from '../../src/gateway/run-stream';
import { createRun as run } from '../../src/gateway/runs';

/**
 * POST /v1/runs — authenticate, entitlements, limits, authorize, Runner, settle
 * (src/gateway/runs.ts); as Server-Sent Events with `Accept: text/event-stream` or `stream: true`
 * (src/gateway/run-stream.ts). Each run is one trace (src/gateway/run-span.ts).
 */
export const createRun: Handler<'createRun'> = async (req, ctx) => {
  const waits = noWaits();
  try {
    if (wantsStream(req.body, req.headers.accept)) {
      return await withRunSpan(ctx.deps, ctx, req.body.instanceId, async (annotate) => {
        const { stream, headers } = await createRunStream(ctx.deps, ctx.caller, req.body, req.headers['idempotency-key'], { ...ctx, annotate }, waits);
        // The overhead header of a stream covers the gateway's time up to its first byte.
        return { status: 200 as const, body: stream, contentType: 'text/event-stream; charset=utf-8', headers: { ...headers, ...waitHeaders(waits) } };
      }, (r) => r.body as unknown as NodeJS.ReadableStream);
    }
    return await withRunSpan(ctx.deps, ctx, req.body.instanceId, async (annotate) => {
      const { body, headers } = await run(ctx.deps, ctx.caller, req.body, req.headers['idempotency-key'], { ...ctx, annotate }, waits);
      return { status: 200 as const, body, headers: { ...headers, ...waitHeaders(waits) } };
    });
  } catch (err) {
    throw withWaits(err, waits);
  }
};
