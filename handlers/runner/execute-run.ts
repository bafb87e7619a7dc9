import { Readable } from 'node:stream';
import type { Handler } from '../../generated/runner/operations';
import { executeRunAsEventStream } from '../../src/runner/event-stream';
import { executeRun as execute } from '../../src/runner/execute';

/** Whether the caller asked for Server-Sent Events (`Accept: text/event-stream`). */
const wantsEventStream = (accept: string | undefined) => !!accept && /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept);

/**
 * POST /v1/runs — verify the artifact, run it on the configured runtime, answer output + usage
 * as JSON, or as Server-Sent Events (`delta`*, then `result` or `error`) when the caller accepts them.
 */
export const executeRun: Handler<'executeRun'> = async (req, ctx) => {
  const { runId, instanceId, orgId, projectId, versionId } = req.body;
  ctx.annotate({ runId, instanceId, versionId, ...(orgId ? { orgId } : {}), ...(projectId ? { projectId } : {}) });
  if (!wantsEventStream((req.headers as Record<string, string | undefined>).accept)) {
    return { status: 200, body: await execute(ctx.deps, req.body, { requestId: ctx.requestId, signal: ctx.signal, log: ctx.log }) };
  }
  // The stream is written after this handler returns: its being closed before it ended (the
  // client went away; Koa destroys the body) stops the run, as the request's signal does before.
  const gone = new AbortController();
  const frames = await executeRunAsEventStream(ctx.deps, req.body, { requestId: ctx.requestId, signal: AbortSignal.any([ctx.signal, gone.signal]), log: ctx.log });
  const body = Readable.from(frames, { objectMode: false });
  body.once('close', () => {
    if (!body.readableEnded) gone.abort(new Error('client closed the stream'));
  });
  return { status: 200, contentType: 'text/event-stream', headers: { 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' }, body };
};
