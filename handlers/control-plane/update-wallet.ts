import type { Handler } from '../../generated/control-plane/operations';
import { actorOf, recordAudit } from '../../src/audit';
import { setLowBalanceThreshold } from '../../src/money/wallets';
import { wire } from '../../src/platform/http/wire';

/** PATCH /wallets/{walletId} — the low-balance warning threshold (audited as `wallet.threshold_changed`). */
export const updateWallet: Handler<'updateWallet'> = async (req, ctx) => {
  const wallet = await ctx.deps.db.transaction(async (trx) => {
    const w = await setLowBalanceThreshold(trx, req.params.walletId, req.body.lowBalanceThreshold, ctx.deps.money);
    await recordAudit(trx, {
      orgId: w.orgId,
      projectId: w.projectId,
      action: 'wallet.threshold_changed',
      resourceType: 'wallet',
      resourceId: w.id,
      actor: actorOf(ctx.caller),
      requestId: ctx.requestId,
      data: { walletId: w.id, lowBalanceThreshold: w.lowBalanceThreshold, balance: w.balance },
    });
    return w;
  });
  return { status: 200, body: wire(wallet) };
};
