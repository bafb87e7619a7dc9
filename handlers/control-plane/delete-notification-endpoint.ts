import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { deleteEndpoint } from '../../src/notifications';
import { auditEndpoint } from '../../src/notifications/endpoint-audit';

/** DELETE /orgs/{orgId}/notification-endpoint — the endpoint and its signing secret. */
export const deleteNotificationEndpoint: Handler<'deleteNotificationEndpoint'> = async (req, ctx) => {
  await deleteEndpoint(ctx.deps.db, ctx.deps.secrets, req.params.orgId);
  await auditEndpoint(ctx.deps.db, req.params.orgId, 'notifications.endpoint_deleted', actorOf(ctx.caller), ctx.requestId);
  return { status: 204, body: undefined };
};
