import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /wallets/{walletId}/topups — not built yet: answers 501 NOT_IMPLEMENTED. */
export const createTopup: Handler<'createTopup'> = notImplemented('createTopup');
