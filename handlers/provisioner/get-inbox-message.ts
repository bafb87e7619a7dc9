import type { Handler } from '../../generated/provisioner/operations';
import { notFound } from '../../src/platform/errors';

/** GET /inbox/{inboxId} — a held order's delivery, line by line (platform operators). */
export const getInboxMessage: Handler<'getInboxMessage'> = async (req, ctx) => {
  const body = await ctx.deps.provisioner.inbox.get(req.params.inboxId);
  if (!body) throw notFound('Inbox message');
  return { status: 200, body };
};
