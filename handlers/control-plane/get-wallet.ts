import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /wallets/{walletId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getWallet: Handler<'getWallet'> = notImplemented('getWallet');
