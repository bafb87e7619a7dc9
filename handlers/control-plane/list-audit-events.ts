import type { Handler } from '../../generated/control-plane/operations';
import { listAuditEvents as list } from '../../src/audit';

/** GET /audit/events — an org's audit events, newest first (who may: policy/). */
export const listAuditEvents: Handler<'listAuditEvents'> = async (req, ctx) => {
  const q = req.query;
  ctx.annotate({ orgId: q.orgId });
  return { status: 200, body: await list(ctx.deps.db, { ...q, limit: q.limit ?? 50 }) };
};
