import type { Handler } from '../../generated/control-plane/operations';
import { toReservation } from '../../src/billing/views';
import { idempotent } from '../../src/control-plane/idempotent';
import { authorize } from '../../src/money/billing';
import { AppError } from '../../src/platform/errors';

/**
 * POST /billing/authorize — reserve a run's budget on the instance's wallet (gateway only).
 * 403 INSUFFICIENT_CREDITS with balance and requiredBudget when available credits are short.
 */
export const authorizeBudget: Handler<'authorizeBudget'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const b = req.body;
    const instance = await trx('instances').select('id', 'state', 'wallet_id', 'org_id', 'project_id').where({ id: b.instanceId }).first();
    if (!instance) throw new AppError('NOT_FOUND', 'Instance not found');
    ctx.annotate({ orgId: instance.org_id, projectId: instance.project_id, instanceId: instance.id });
    if (instance.state !== 'active') {
      throw new AppError('NOT_ENTITLED', `The instance is ${instance.state}; runs need an active instance`, { instanceId: instance.id, state: instance.state });
    }
    if (b.walletId !== undefined && b.walletId !== instance.wallet_id) {
      throw new AppError('UNPROCESSABLE', 'walletId is not the wallet that pays for this instance', { instanceId: instance.id });
    }
    const r = await authorize(
      trx,
      { walletId: instance.wallet_id, instanceId: instance.id, runId: b.runId, amount: b.estimatedBudget, ttlSeconds: b.ttlSeconds },
      ctx.deps.money,
    );
    return { status: 201 as const, body: toReservation(r.reservation, r) };
  });
