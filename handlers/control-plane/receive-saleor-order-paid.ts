import type { Handler } from '../../generated/control-plane/operations';
import { applyOrderPaid } from '../../src/commerce/order-paid';
import { idempotent } from '../../src/control-plane/idempotent';

/**
 * POST /integrations/saleor/order-paid — one paid Saleor order line, from the Provisioner only.
 * The Idempotency-Key row and every effect (buyer workspace, instance or top-up) commit in one
 * transaction; a replay answers the first 201 with `Idempotent-Replayed: true`. Refusals (4xx)
 * are thrown, so they store nothing and a corrected retry with the same key goes through.
 */
export const receiveSaleorOrderPaid: Handler<'receiveSaleorOrderPaid'> = (req, ctx) => {
  return idempotent(req, ctx, async (trx) => {
    const body = await applyOrderPaid(
      trx,
      { instances: ctx.deps.instances, money: ctx.deps.money },
      req.body,
      { idempotencyKey: req.headers['idempotency-key'], actor: ctx.caller!.subject, requestId: ctx.requestId },
    );
    ctx.annotate({ orgId: body.orgId, projectId: body.projectId, ...(body.instance ? { instanceId: body.instance.id } : {}) });
    return { status: 201 as const, body };
  });
};
