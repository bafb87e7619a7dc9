import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** PATCH /wallets/{walletId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const updateWallet: Handler<'updateWallet'> = notImplemented('updateWallet');
