import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { deadlineFrom } from '../../src/money/bounds';
import { chargeQuotaRun as charge } from '../../src/money/quotas';
import type { RunFinish } from '../../src/runs/records';
import { timeoutOf } from './authorize-budget';
import { admissionOf } from '../../src/money/quotas';

/** POST /billing/quotas/{quotaId}/charges — one run's charge against the quota, and its record (idempotent by runId). */
export const chargeQuotaRun: Handler<'chargeQuotaRun'> = async (req, ctx) => {
  const b = req.body;
  ctx.annotate({ quotaId: req.params.quotaId, runId: b.runId, reservationId: b.reservationId });
  const r = await charge(
    ctx.deps.db,
    req.params.quotaId,
    { holder: b.holder, reservationId: b.reservationId, runId: b.runId, hold: b.hold, usage: b.usage, admission: admissionOf(b.admission, b.startedAt), run: b.run as RunFinish },
    { money: ctx.deps.money, actor: actorOf(ctx.caller), requestId: ctx.requestId, bounds: deadlineFrom(timeoutOf(req.headers['x-request-timeout-ms'])) },
  );
  return {
    status: 200 as const,
    body: {
      reservationId: r.reservationId,
      runId: r.runId ?? b.runId,
      ledgerEntryId: r.ledgerEntryId,
      ledgerEntryIds: r.ledgerEntryIds,
      creditsMetered: r.creditsMetered,
      creditsCharged: r.creditsCharged,
      overage: r.overage,
      lines: r.lines,
      balance: r.balance,
      available: r.wallet.available,
      lowBalance: r.wallet.lowBalance,
      settledAt: r.settledAt.toISOString(),
    },
  };
};
