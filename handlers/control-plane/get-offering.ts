import type { Handler } from '../../generated/control-plane/operations';
import { getOffering as get, AUTHORING_OPERATION } from '../../src/catalog';

/** GET /offerings/{offeringId} — public unless draft or end of life (then 404 for non-publishers). */
export const getOffering: Handler<'getOffering'> = async (req, ctx) => ({
  status: 200,
  body: await get(ctx.deps.db, req.params.offeringId, ctx.allows(AUTHORING_OPERATION)),
});
