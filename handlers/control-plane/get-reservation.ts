import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /billing/reservations/{reservationId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getReservation: Handler<'getReservation'> = notImplemented('getReservation');
