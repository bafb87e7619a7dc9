import type { Handler } from '../../generated/control-plane/operations';
import { listVersions, AUTHORING_OPERATION } from '../../src/catalog';

/** GET /offerings/{offeringId}/versions — newest first; buyers see certified versions only. */
export const listOfferingVersions: Handler<'listOfferingVersions'> = async (req, ctx) => ({
  status: 200,
  body: await listVersions(ctx.deps.db, req.params.offeringId, req.query, ctx.allows(AUTHORING_OPERATION)),
});
