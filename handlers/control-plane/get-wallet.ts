import type { Handler } from '../../generated/control-plane/operations';
import { getWallet as loadWallet } from '../../src/money/wallets';
import { wire } from '../../src/platform/http/wire';

/** GET /wallets/{walletId} — balance, reserved, available, paid/granted split, low-balance flag. */
export const getWallet: Handler<'getWallet'> = async (req, ctx) => {
  return { status: 200, body: wire(await loadWallet(ctx.deps.db, req.params.walletId, ctx.deps.money)) };
};
