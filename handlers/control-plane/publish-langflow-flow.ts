import type { Handler } from '../../generated/control-plane/operations';
import { authorSubject, catalogFor, publishLangflowFlow as publish } from '../../src/catalog';
import { idempotent } from '../../src/control-plane/idempotent';

/** POST /integrations/langflow/flows:publish — a flow export as a new (by default certified) version (Idempotency-Key honoured). */
export const publishLangflowFlow: Handler<'publishLangflowFlow'> = async (req, ctx) => {
  if (req.body.offeringId) ctx.annotate({ offeringId: req.body.offeringId });
  return idempotent(req, ctx, async (trx) => ({
    status: 201 as const,
    body: await publish(catalogFor(ctx.deps), trx, req.body, authorSubject(ctx.caller)),
  }));
};
