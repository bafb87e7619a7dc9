import type { Handler } from '../../generated/control-plane/operations';
import { endpointView, getEndpoint } from '../../src/notifications';
import { AppError } from '../../src/platform/errors';

/** GET /orgs/{orgId}/notification-endpoint — never the secret. */
export const getNotificationEndpoint: Handler<'getNotificationEndpoint'> = async (req, ctx) => {
  const row = await getEndpoint(ctx.deps.db, req.params.orgId);
  if (!row) throw new AppError('NOT_FOUND', 'This org has no notification endpoint');
  return { status: 200, body: endpointView(row) };
};
