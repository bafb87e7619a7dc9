import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { putEndpoint } from '../../src/notifications';
import { auditEndpoint } from '../../src/notifications/endpoint-audit';

/** PUT /orgs/{orgId}/notification-endpoint — the secret is in the answer only when this call issued it. */
export const putNotificationEndpoint: Handler<'putNotificationEndpoint'> = async (req, ctx) => {
  const { view } = await putEndpoint(ctx.deps.db, ctx.deps.secrets, ctx.deps.notifications.policy, req.params.orgId, req.body);
  await auditEndpoint(ctx.deps.db, req.params.orgId, 'notifications.endpoint_set', actorOf(ctx.caller), ctx.requestId, { url: view.url, email: view.email, emailAdmins: view.emailAdmins, secretIssued: view.secret !== undefined });
  return { status: 200, body: view };
};
