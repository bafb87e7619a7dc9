import type { Handler } from '../../generated/provisioner/operations';

/**
 * POST /dead-letters/{deadLetterId}/replay — one more attempt with the same Idempotency-Key
 * (a line that did go through answers idempotently); 200 with the dead letter after it.
 */
export const replayDeadLetter: Handler<'replayDeadLetter'> = async (req, ctx) => {
  ctx.annotate({ deadLetterId: req.params.deadLetterId });
  const body = await ctx.deps.provisioner.replay(req.params.deadLetterId, { requestId: ctx.requestId, log: ctx.log, signal: ctx.signal });
  return { status: 200, body };
};
