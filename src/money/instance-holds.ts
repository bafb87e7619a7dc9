/**
 * A hold on an instance's wallet without a run record (`POST /billing/authorize` without `run`):
 * the instance must be active and pay from the named wallet (when one is named); then
 * `estimatedBudget` is reserved under the billing rules (billing.ts). Joins the caller's unit of
 * work (the Idempotency-Key's transaction).
 */
import { one, type Db } from '../db/tx';
import { AppError } from '../platform/errors';
import { authorize, type AuthorizeResult } from './billing';
import type { MoneyDeps } from './types';

export interface InstanceHoldInput {
  instanceId: string;
  walletId?: string;
  runId: string;
  amount: number;
  ttlSeconds?: number;
}

export async function holdForInstance(db: Db, input: InstanceHoldInput, deps?: MoneyDeps): Promise<AuthorizeResult & { orgId: string; projectId: string }> {
  const instance = await one<{ id: string; state: string; wallet_id: string; org_id: string; project_id: string }>(
    db, 'select id, state, wallet_id, org_id, project_id from instances where id = ?', [input.instanceId],
  );
  if (!instance) throw new AppError('NOT_FOUND', 'Instance not found');
  if (instance.state !== 'active') {
    throw new AppError('NOT_ENTITLED', `The instance is ${instance.state}; runs need an active instance`, { instanceId: instance.id, state: instance.state });
  }
  if (input.walletId !== undefined && input.walletId !== instance.wallet_id) {
    throw new AppError('UNPROCESSABLE', 'walletId is not the wallet that pays for this instance', { instanceId: instance.id });
  }
  const r = await authorize(db, { walletId: instance.wallet_id, instanceId: instance.id, runId: input.runId, amount: input.amount, ttlSeconds: input.ttlSeconds }, deps);
  return { ...r, orgId: instance.org_id, projectId: instance.project_id };
}
