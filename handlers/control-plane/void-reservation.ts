import type { Handler } from '../../generated/control-plane/operations';
import { actorOf, recordAudit } from '../../src/audit';
import { toReservation } from '../../src/billing/views';
import { idempotent } from '../../src/control-plane/idempotent';
import { voidReservation as release } from '../../src/money/billing';

/** POST /billing/void — release a reservation (the run failed or was refused); nothing is charged. */
export const voidReservation: Handler<'voidReservation'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const r = await release(trx, { reservationId: req.body.reservationId }, ctx.deps.money);
    if (!r.replayed) {
      const w = await trx('wallets').select('org_id', 'project_id').where({ id: r.reservation.walletId }).first();
      await recordAudit(trx, {
        orgId: w.org_id,
        projectId: w.project_id,
        action: 'billing.voided',
        resourceType: 'reservation',
        resourceId: r.reservation.id,
        actor: actorOf(ctx.caller),
        requestId: ctx.requestId,
        data: { instanceId: r.reservation.instanceId, walletId: r.reservation.walletId, runId: r.reservation.runId, amount: r.reservation.amount, reason: req.body.reason ?? null },
      });
    }
    return { status: 200 as const, body: toReservation(r.reservation, undefined, req.body.reason) };
  });
