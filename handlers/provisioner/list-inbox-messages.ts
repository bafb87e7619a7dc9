import type { Handler } from '../../generated/provisioner/operations';

/** GET /inbox — held orders, newest first, filtered by status / order (platform operators). */
export const listInboxMessages: Handler<'listInboxMessages'> = async (req, ctx) => {
  const body = await ctx.deps.provisioner.inbox.list({
    status: req.query.status,
    orderId: req.query.orderId,
    cursor: req.query.cursor,
    limit: req.query.limit ?? 50,
  });
  return { status: 200, body };
};
