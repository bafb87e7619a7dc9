import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { deadlineFrom } from '../../src/money/bounds';
import { renewQuota } from '../../src/money/quotas';
import { timeoutOf } from './authorize-budget';
import { quotaBody } from './quota-answers';

/** POST /billing/quotas/{quotaId}/renew — checks the instance again, resizes and extends the quota. */
export const renewCreditQuota: Handler<'renewCreditQuota'> = async (req, ctx) => {
  ctx.annotate({ quotaId: req.params.quotaId });
  const q = await renewQuota(ctx.deps.db, req.params.quotaId, req.body, { money: ctx.deps.money, actor: actorOf(ctx.caller), requestId: ctx.requestId, bounds: deadlineFrom(timeoutOf(req.headers['x-request-timeout-ms'])) });
  return { status: 200 as const, body: quotaBody(q) };
};
