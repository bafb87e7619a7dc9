import type { Handler } from '../../generated/control-plane/operations';
import { listAuditEvents as list } from '../../src/audit';
import { requireAccess } from '../../src/control-plane/access';

/** GET /audit/events — an org's audit events, newest first (org owners and admins; other orgs 404). */
export const listAuditEvents: Handler<'listAuditEvents'> = async (req, ctx) => {
  const q = req.query;
  await requireAccess(ctx.deps.db, ctx.caller, { orgId: q.orgId }, 'admin');
  ctx.annotate({ orgId: q.orgId });
  return { status: 200, body: await list(ctx.deps.db, { ...q, limit: q.limit ?? 50 }) };
};
