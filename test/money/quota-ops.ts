/**
 * The money core of credit quotas (src/money/billing.ts ops, as src/money/quotas.ts runs them) on
 * a bare wallet, for the fault suite: a quota grant, and one run's charge against it (hold 10,
 * its reservation id derived from the run id so that every retry is the same charge).
 */
import type { Knex } from 'knex';
import { authorizeOp, executeBatch, type AuthorizeResult, type SettleResult } from '../../src/money/billing';
import type { WalletBatcher } from '../../src/money/wallet-batch';

export const FAULT_INSTANCE = 'inst_faultquota';

export async function grantBlock(db: Knex, batcher: WalletBatcher, walletId: string, amount: number, ttlSeconds: number): Promise<string> {
  const op = { ...authorizeOp({ walletId, instanceId: FAULT_INSTANCE, amount, ttlSeconds }), quota: { holder: 'gw-fault', useUntil: new Date(Date.now() + 5_000) } };
  const [o] = await batcher.run(db, walletId, { deadline: Date.now() + 4000 }, (trx) => executeBatch(trx, [op]));
  if (!o!.ok) throw o!.error;
  return (o!.value as AuthorizeResult).reservation.id;
}

export async function chargeRun(db: Knex, batcher: WalletBatcher, walletId: string, quotaId: string, runId: string, credits: number): Promise<SettleResult> {
  const [o] = await batcher.run(db, walletId, { deadline: Date.now() + 4000 }, (trx) => executeBatch(trx, [{
    kind: 'quota_charge', walletId, quotaId, id: `res_${runId.slice(4)}`, instanceId: FAULT_INSTANCE, runId, hold: 10, requested: credits, usage: { credits },
  }]));
  if (!o!.ok) throw o!.error;
  return o!.value as SettleResult;
}
