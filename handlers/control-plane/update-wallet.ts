import type { Handler } from '../../generated/control-plane/operations';
import { authorizeWallet } from '../../src/control-plane/wallet-access';
import { setLowBalanceThreshold } from '../../src/money/wallets';
import { wire } from '../../src/platform/http/wire';

/** PATCH /wallets/{walletId} — the low-balance warning threshold. */
export const updateWallet: Handler<'updateWallet'> = async (req, ctx) => {
  await authorizeWallet(ctx.deps.db, ctx.caller, req.params.walletId, 'admin');
  const wallet = await setLowBalanceThreshold(ctx.deps.db, req.params.walletId, req.body.lowBalanceThreshold, ctx.deps.money);
  return { status: 200, body: wire(wallet) };
};
