import type { Handler } from '../../generated/control-plane/operations';
import { catchUpJournal } from '../../src/money/usage-journal';
import { listAuditEvents as list } from '../../src/audit';

/** GET /audit/events — an org's audit events, newest first (who may: policy/). */
export const listAuditEvents: Handler<'listAuditEvents'> = async (req, ctx) => {
  const q = req.query;
  ctx.annotate({ orgId: q.orgId });
  await catchUpJournal(ctx.deps.db, { orgId: q.orgId }, { money: ctx.deps.money });
  return { status: 200, body: await list(ctx.deps.db, { ...q, limit: q.limit ?? 50 }) };
};
