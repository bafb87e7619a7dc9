import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { isService } from '../../src/control-plane/access';
import { idempotent } from '../../src/control-plane/idempotent';
import { topUpWallet } from '../../src/money/top-ups';
import { AppError } from '../../src/platform/errors';

/**
 * POST /wallets/{walletId}/topups — credits in (idempotent by Idempotency-Key). Callers: the
 * Provisioner (paid credit packs) and platform publisher-admins (grants, promotions).
 */
export const createTopup: Handler<'createTopup'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const provisioner = isService(ctx.caller, 'provisioner');
    const admin = ctx.caller?.kind === 'user' && ctx.caller.roles.has('publisher-admin');
    if (!provisioner && !admin) throw new AppError('FORBIDDEN', 'Top-ups are made by the commerce integration or a platform administrator');
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
