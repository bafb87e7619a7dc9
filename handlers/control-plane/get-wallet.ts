import type { Handler } from '../../generated/control-plane/operations';
import { catchUpJournal } from '../../src/money/usage-journal';
import { getWallet as loadWallet } from '../../src/money/wallets';
import { wire } from '../../src/platform/http/wire';

/** GET /wallets/{walletId} — balance, reserved, available, paid/granted split, low-balance flag. */
export const getWallet: Handler<'getWallet'> = async (req, ctx) => {
  await catchUpJournal(ctx.deps.db, { walletId: req.params.walletId }, { money: ctx.deps.money });
  return { status: 200, body: wire(await loadWallet(ctx.deps.db, req.params.walletId, ctx.deps.money)) };
};
