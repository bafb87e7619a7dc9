import type { Handler } from '../../generated/control-plane/operations';
import { actorOf, recordAudit } from '../../src/audit';
import { idempotent } from '../../src/control-plane/idempotent';
import { topUp } from '../../src/money/wallets';
import { AppError } from '../../src/platform/errors';

/**
 * POST /wallets/{walletId}/topups — credits in (idempotent by Idempotency-Key). Callers: the
 * Provisioner (purchases) and platform operators (grants, promotions) — never a catalog
 * publisher or an org role: credits are money (policy/: services.cedar, catalog-and-platform.cedar).
 */
export const createTopup: Handler<'createTopup'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const wallet = await trx('wallets').select('id', 'org_id', 'project_id').where({ id: req.params.walletId }).first();
    if (!wallet) throw new AppError('NOT_FOUND', 'Wallet not found');
    const { body } = req;
    const r = await topUp(
      trx,
      {
        walletId: req.params.walletId,
        amount: body.amount,
        creditType: body.creditType,
        reference: body.reference ?? req.headers['idempotency-key'] ?? null,
        metadata: { source: body.source, actor: ctx.caller?.subject },
      },
      ctx.deps.money,
    );
    await recordAudit(trx, {
      orgId: wallet.org_id,
      projectId: wallet.project_id,
      action: 'wallet.topup',
      resourceType: 'wallet',
      resourceId: r.wallet.id,
      actor: actorOf(ctx.caller),
      requestId: ctx.requestId,
      data: { walletId: r.wallet.id, ledgerEntryId: r.ledgerEntryId, amount: r.amount, creditType: r.creditType, source: body.source, reference: body.reference ?? null, balanceAfter: r.wallet.balance },
    });
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
        createdAt: new Date().toISOString(),
      },
    };
  });
