import type { Handler } from '../../generated/provisioner/operations';

/** GET /dead-letters — newest first, filtered by status / order (platform operators). */
export const listDeadLetters: Handler<'listDeadLetters'> = async (req, ctx) => {
  const body = await ctx.deps.provisioner.deadLetters.list({
    status: req.query.status,
    orderId: req.query.orderId,
    cursor: req.query.cursor,
    limit: req.query.limit ?? 50,
  });
  return { status: 200, body };
};
