import type { Handler } from '../../generated/control-plane/operations';
import { verifyChain } from '../../src/audit';
import { requireAccess } from '../../src/control-plane/access';

/** GET /audit/verify — recompute the org's hash chain and report the first broken link. */
export const verifyAuditChain: Handler<'verifyAuditChain'> = async (req, ctx) => {
  const q = req.query;
  await requireAccess(ctx.deps.db, ctx.caller, { orgId: q.orgId }, 'admin');
  ctx.annotate({ orgId: q.orgId });
  return { status: 200, body: await verifyChain(ctx.deps.db, q.orgId, { from: q.from, to: q.to }) };
};
