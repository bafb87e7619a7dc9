import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { rotateSecret } from '../../src/notifications';
import { auditEndpoint } from '../../src/notifications/endpoint-audit';

/** POST /orgs/{orgId}/notification-endpoint/secret — the new signing secret, shown once. */
export const rotateNotificationSecret: Handler<'rotateNotificationSecret'> = async (req, ctx) => {
  const view = await rotateSecret(ctx.deps.db, ctx.deps.secrets, req.params.orgId);
  await auditEndpoint(ctx.deps.db, req.params.orgId, 'notifications.secret_rotated', actorOf(ctx.caller), ctx.requestId);
  return { status: 200, body: view };
};
