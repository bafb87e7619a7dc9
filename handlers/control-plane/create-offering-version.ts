import type { Handler } from '../../generated/control-plane/operations';
import { authorSubject, catalogFor, createVersion } from '../../src/catalog';
import { idempotent } from '../../src/control-plane/idempotent';

/** POST /offerings/{offeringId}/versions — an immutable version from a Langflow flow export (Idempotency-Key honoured). */
export const createOfferingVersion: Handler<'createOfferingVersion'> = async (req, ctx) => {
  ctx.annotate({ offeringId: req.params.offeringId });
  return idempotent(req, ctx, async (trx) => ({
    status: 201 as const,
    body: await createVersion(catalogFor(ctx.deps), trx, req.params.offeringId, { ...req.body, source: 'api' }, authorSubject(ctx.caller)),
  }));
};
