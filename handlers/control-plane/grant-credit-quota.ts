import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { deadlineFrom } from '../../src/money/bounds';
import { grantQuota } from '../../src/money/quotas';
import { timeoutOf } from './authorize-budget';
import { quotaBody } from './quota-answers';

/** POST /billing/quotas — a gateway's credit quota on an instance's wallet (src/money/quotas.ts grantQuota). */
export const grantCreditQuota: Handler<'grantCreditQuota'> = async (req, ctx) => {
  const b = req.body;
  ctx.annotate({ instanceId: b.instanceId });
  const q = await grantQuota(ctx.deps.db, b, { money: ctx.deps.money, actor: actorOf(ctx.caller), requestId: ctx.requestId, bounds: deadlineFrom(timeoutOf(req.headers['x-request-timeout-ms'])) });
  ctx.annotate({ quotaId: q.quotaId });
  return { status: 201 as const, body: quotaBody(q) };
};
