import type { Handler } from '../../generated/control-plane/operations';
import { listDeliveries } from '../../src/notifications';

/** GET /orgs/{orgId}/notifications — newest first, with their delivery state. */
export const listNotifications: Handler<'listNotifications'> = async (req, ctx) => ({
  status: 200,
  body: await listDeliveries(ctx.deps.db, req.params.orgId, { limit: req.query.limit ?? 50, cursor: req.query.cursor ?? undefined }),
});
