import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { deadlineFrom } from '../../src/money/bounds';
import { releaseQuota } from '../../src/money/quotas';
import { timeoutOf } from './authorize-budget';
import { quotaBody } from './quota-answers';

/** POST /billing/quotas/{quotaId}/release — voids what is left of the quota. */
export const releaseCreditQuota: Handler<'releaseCreditQuota'> = async (req, ctx) => {
  ctx.annotate({ quotaId: req.params.quotaId });
  const q = await releaseQuota(ctx.deps.db, req.params.quotaId, req.body, { money: ctx.deps.money, actor: actorOf(ctx.caller), requestId: ctx.requestId, bounds: deadlineFrom(timeoutOf(req.headers['x-request-timeout-ms'])) });
  return { status: 200 as const, body: quotaBody(q) };
};
