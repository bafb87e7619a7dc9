import type { Handler } from '../../generated/control-plane/operations';
import { toReservation } from '../../src/money/reservation-view';
import { getReservation as loadReservation } from '../../src/money/billing';
import { AppError } from '../../src/platform/errors';

/** GET /billing/reservations/{reservationId} — for the gateway, and for admins of the paying org. */
export const getReservation: Handler<'getReservation'> = async (req, ctx) => {
  let reservation;
  try {
    reservation = await loadReservation(ctx.deps.db, req.params.reservationId);
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') throw new AppError('NOT_FOUND', 'Reservation not found');
    throw err;
  }
  return { status: 200, body: toReservation(reservation) };
};
