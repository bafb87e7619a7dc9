/**
 * The top-up use case: credits into a wallet (a paid credit pack from commerce, or a grant by a
 * platform administrator), with its audit event, in the caller's unit of work (the
 * Idempotency-Key's transaction, so a retried request replays instead of adding twice). The
 * handler only checks who may call and maps request ↔ use case ↔ response.
 */
import { recordAudit, type AuditActor } from '../audit';
import { inTransaction, one, type Db } from '../db/tx';
import { AppError } from '../platform/errors';
import type { MoneyDeps } from './types';
import { topUp, type TopUpInput, type TopUpResult } from './wallets';

export interface TopUpWalletInput extends TopUpInput {
  /** Where the credits come from (order, admin, promotion): kept in the ledger metadata and the audit event. */
  source: string;
  /** The ledger's reference when the caller gave none (the request's Idempotency-Key); not audited. */
  fallbackReference?: string | null;
}

export async function topUpWallet(db: Db, input: TopUpWalletInput, deps: { money?: MoneyDeps; actor: AuditActor; requestId?: string }): Promise<TopUpResult & { createdAt: Date }> {
  return inTransaction(db, async (trx) => {
    const wallet = await one<{ id: string; org_id: string; project_id: string | null }>(trx, 'select id, org_id, project_id from wallets where id = ?', [input.walletId]);
    if (!wallet) throw new AppError('NOT_FOUND', 'Wallet not found');
    const { source, fallbackReference, ...credit } = input;
    const r = await topUp(trx, { ...credit, reference: input.reference ?? fallbackReference ?? null, metadata: { ...(input.metadata ?? {}), source } }, deps.money);
    await recordAudit(trx, {
      orgId: wallet.org_id,
      projectId: wallet.project_id,
      action: 'wallet.topup',
      resourceType: 'wallet',
      resourceId: r.wallet.id,
      actor: deps.actor,
      requestId: deps.requestId,
      data: { walletId: r.wallet.id, ledgerEntryId: r.ledgerEntryId, amount: r.amount, creditType: r.creditType, source: input.source, reference: input.reference ?? null, balanceAfter: r.wallet.balance },
    });
    return { ...r, createdAt: new Date() };
  });
}
