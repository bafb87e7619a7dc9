import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /billing/void — not built yet: answers 501 NOT_IMPLEMENTED. */
export const voidReservation: Handler<'voidReservation'> = notImplemented('voidReservation');
