import type { Handler } from '../../generated/provisioner/operations';
import { notFound } from '../../src/platform/errors';

/** GET /dead-letters/{deadLetterId} (platform operators). */
export const getDeadLetter: Handler<'getDeadLetter'> = async (req, ctx) => {
  const body = await ctx.deps.provisioner.deadLetters.get(req.params.deadLetterId);
  if (!body) throw notFound('Dead letter');
  return { status: 200, body };
};
