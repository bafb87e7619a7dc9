import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { idempotent } from '../../src/control-plane/idempotent';
import { topUpWallet } from '../../src/money/top-ups';

/**
 * POST /wallets/{walletId}/topups — credits in (idempotent by Idempotency-Key). Callers: the
 * Provisioner (purchases) and platform operators (grants, promotions) — never a catalog
 * publisher or an org role: credits are money (policy/: services.cedar, catalog-and-platform.cedar).
 */
export const createTopup: Handler<'createTopup'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const { body } = req;
    const r = await topUpWallet(
      trx,
      {
        walletId: req.params.walletId,
        amount: body.amount,
        creditType: body.creditType,
        source: body.source,
        reference: body.reference ?? null,
        fallbackReference: req.headers['idempotency-key'] ?? null,
        metadata: { actor: ctx.caller?.subject },
      },
      { money: ctx.deps.money, actor: actorOf(ctx.caller), requestId: ctx.requestId },
    );
    return {
      status: 201 as const,
      body: {
        ledgerEntryId: r.ledgerEntryId,
        walletId: r.wallet.id,
        amount: r.amount,
        creditType: r.creditType,
        source: body.source,
        reference: body.reference ?? null,
        balance: r.wallet.balance,
        available: r.wallet.available,
        paidBalance: r.wallet.paidBalance,
        grantedBalance: r.wallet.grantedBalance,
        createdAt: r.createdAt.toISOString(),
      },
    };
  });
