import type { Handler } from '../../generated/control-plane/operations';
import { getVersion, AUTHORING_OPERATION } from '../../src/catalog';

/** GET /offerings/{offeringId}/versions/{versionId} — public for certified versions of visible offerings. */
export const getOfferingVersion: Handler<'getOfferingVersion'> = async (req, ctx) => ({
  status: 200,
  body: await getVersion(ctx.deps.db, req.params.offeringId, req.params.versionId, ctx.allows(AUTHORING_OPERATION)),
});
