import type { Handler } from '../../generated/control-plane/operations';
import { authorizeWallet } from '../../src/control-plane/wallet-access';
import { getWallet as loadWallet } from '../../src/money/wallets';
import { wire } from '../../src/platform/http/wire';

/** GET /wallets/{walletId} — balance, reserved, available, paid/granted split, low-balance flag. */
export const getWallet: Handler<'getWallet'> = async (req, ctx) => {
  await authorizeWallet(ctx.deps.db, ctx.caller, req.params.walletId, 'viewer', ['gateway']);
  return { status: 200, body: wire(await loadWallet(ctx.deps.db, req.params.walletId, ctx.deps.money)) };
};
