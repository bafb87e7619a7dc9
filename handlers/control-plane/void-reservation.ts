import type { Handler } from '../../generated/control-plane/operations';
import { toReservation } from '../../src/billing/views';
import { idempotent } from '../../src/control-plane/idempotent';
import { voidReservation as release } from '../../src/money/billing';

/** POST /billing/void — release a reservation (the run failed or was refused); nothing is charged. */
export const voidReservation: Handler<'voidReservation'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const r = await release(trx, { reservationId: req.body.reservationId }, ctx.deps.money);
    return { status: 200 as const, body: toReservation(r.reservation, undefined, req.body.reason) };
  });
