import type { Handler } from '../../generated/control-plane/operations';
import { catchUpJournal } from '../../src/money/usage-journal';
import { verifyChain } from '../../src/audit';

/** GET /audit/verify — recompute the org's hash chain and report the first broken link. */
export const verifyAuditChain: Handler<'verifyAuditChain'> = async (req, ctx) => {
  const q = req.query;
  ctx.annotate({ orgId: q.orgId });
  await catchUpJournal(ctx.deps.db, { orgId: q.orgId }, { money: ctx.deps.money });
  return { status: 200, body: await verifyChain(ctx.deps.db, q.orgId, { from: q.from, to: q.to }) };
};
