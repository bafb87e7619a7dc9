import type { Handler } from '../../generated/control-plane/operations';
import { deadlineFrom } from '../../src/money/bounds';
import { voidQuotaRun as record } from '../../src/money/quotas';
import type { RunFinish } from '../../src/runs/records';
import { timeoutOf } from './authorize-budget';
import { admissionOf } from '../../src/money/quotas';

/** POST /billing/quotas/{quotaId}/voids — records a run on the quota that ended uncharged. */
export const voidQuotaRun: Handler<'voidQuotaRun'> = async (req, ctx) => {
  const b = req.body;
  ctx.annotate({ quotaId: req.params.quotaId, runId: b.runId });
  const r = await record(ctx.deps.db, req.params.quotaId, { holder: b.holder, runId: b.runId, admission: admissionOf(b.admission, b.startedAt), run: b.run as RunFinish }, { money: ctx.deps.money, bounds: deadlineFrom(timeoutOf(req.headers['x-request-timeout-ms'])) });
  return { status: 200 as const, body: { runId: r.runId, status: r.status as 'failed', creditsCharged: 0, replayed: r.replayed } };
};
