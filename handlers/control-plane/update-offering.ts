import type { Handler } from '../../generated/control-plane/operations';
import { authorSubject, catalogFor, updateOffering as update } from '../../src/catalog';

/** PATCH /offerings/{offeringId} — listing attributes only (merge semantics). */
export const updateOffering: Handler<'updateOffering'> = async (req, ctx) => {
  ctx.annotate({ offeringId: req.params.offeringId });
  return { status: 200, body: await update(catalogFor(ctx.deps), ctx.deps.db, req.params.offeringId, req.body, authorSubject(ctx.caller)) };
};
