import type { Handler } from '../../generated/control-plane/operations';
import { authorSubject, catalogFor, transitionOffering as transition } from '../../src/catalog';

/** POST /offerings/{offeringId}/transitions — the lifecycle table is in src/catalog/lifecycle.ts. */
export const transitionOffering: Handler<'transitionOffering'> = async (req, ctx) => {
  ctx.annotate({ offeringId: req.params.offeringId });
  return { status: 200, body: await transition(catalogFor(ctx.deps), ctx.deps.db, req.params.offeringId, req.body, authorSubject(ctx.caller)) };
};
