import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { idempotent } from '../../src/control-plane/idempotent';
import { deadlineFrom } from '../../src/money/bounds';
import { settleRun, type SettleRunResult } from '../../src/money/runs';
import type { RunFinish } from '../../src/runs/records';
import { timeoutOf } from './authorize-budget';

/**
 * POST /billing/settle — debit what the run used (metered by the instance's capabilities, never
 * more than the hold) and finish its run record (src/money/runs.ts settleRun). Idempotent by reservationId.
 */
export const settleReservation: Handler<'settleReservation'> = async (req, ctx) => {
  const b = req.body;
  ctx.annotate({ reservationId: b.reservationId, ...(b.runId ? { runId: b.runId } : {}) });
  const input = { reservationId: b.reservationId, runId: b.runId ?? null, usage: b.usage, run: b.run as RunFinish | undefined };
  const deps = { money: ctx.deps.money, actor: actorOf(ctx.caller), requestId: ctx.requestId, bounds: deadlineFrom(timeoutOf(req.headers['x-request-timeout-ms'])) };
  if (req.headers['idempotency-key']) return idempotent(req, ctx, async (trx) => answer(await settleRun(trx as never, input, deps)));
  return answer(await settleRun(ctx.deps.db, input, deps));
};

function answer(r: SettleRunResult) {
  return {
    status: 200 as const,
    body: {
      reservationId: r.reservationId,
      runId: r.runId ?? '',
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
}
