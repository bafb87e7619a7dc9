import type { Handler } from '../../generated/control-plane/operations';
import { actorOf, recordAudit } from '../../src/audit';
import { meterInstanceUsage } from '../../src/billing/metering';
import { idempotent } from '../../src/control-plane/idempotent';
import { getReservation, settle } from '../../src/money/billing';
import { getWallet } from '../../src/money/wallets';
import { AppError } from '../../src/platform/errors';

/**
 * POST /billing/settle — debit what the run used, metered by the instance's capabilities.
 * Idempotent by reservationId: a retry answers the same ledgerEntryId.
 */
export const settleReservation: Handler<'settleReservation'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const b = req.body;
    const reservation = await getReservation(trx, b.reservationId);
    if (!reservation.instanceId) throw new AppError('UNPROCESSABLE', 'The reservation is not for an instance run', { reservationId: b.reservationId });
    ctx.annotate({ instanceId: reservation.instanceId, walletId: reservation.walletId });
    const metered = await meterInstanceUsage(trx, reservation.instanceId, b.usage);
    const r = await settle(trx, { reservationId: b.reservationId, credits: metered.total, runId: b.runId ?? null, usage: b.usage }, ctx.deps.money);
    const wallet = await getWallet(trx, r.walletId, ctx.deps.money);
    const settled = await getReservation(trx, b.reservationId);
    if (!r.replayed) {
      await recordAudit(trx, {
        orgId: wallet.orgId,
        projectId: wallet.projectId,
        action: 'billing.settled',
        resourceType: 'reservation',
        resourceId: r.reservationId,
        actor: actorOf(ctx.caller),
        requestId: ctx.requestId,
        data: { instanceId: reservation.instanceId, walletId: r.walletId, runId: r.runId, ledgerEntryId: r.ledgerEntryId, creditsMetered: r.requested, creditsCharged: r.charged, overage: r.overage, balanceAfter: r.balanceAfter },
      });
    }
    return {
      status: 200 as const,
      body: {
        reservationId: r.reservationId,
        runId: r.runId ?? '',
        ledgerEntryId: r.ledgerEntryId,
        ledgerEntryIds: r.ledgerEntryIds,
        creditsMetered: r.requested,
        creditsCharged: r.charged,
        overage: r.overage,
        lines: metered.lines,
        balance: r.balanceAfter,
        available: wallet.available,
        lowBalance: wallet.lowBalance,
        settledAt: (settled.resolvedAt ?? new Date()).toISOString(),
      },
    };
  });
