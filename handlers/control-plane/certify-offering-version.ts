import type { Handler } from '../../generated/control-plane/operations';
import { catalogFor, certifyVersion } from '../../src/catalog';

/** POST /offerings/{offeringId}/versions/{versionId}/certify — 200 with the report, passed or failed. */
export const certifyOfferingVersion: Handler<'certifyOfferingVersion'> = async (req, ctx) => {
  ctx.annotate({ offeringId: req.params.offeringId, versionId: req.params.versionId });
  return { status: 200, body: await certifyVersion(catalogFor(ctx.deps), ctx.deps.db, req.params.offeringId, req.params.versionId) };
};
