import type { Handler } from '../../generated/control-plane/operations';
import { verifyChain } from '../../src/audit';

/** GET /audit/verify — recompute the org's hash chain and report the first broken link. */
export const verifyAuditChain: Handler<'verifyAuditChain'> = async (req, ctx) => {
  const q = req.query;
  ctx.annotate({ orgId: q.orgId });
  return { status: 200, body: await verifyChain(ctx.deps.db, q.orgId, { from: q.from, to: q.to }) };
};
