import type { Handler } from '../../generated/control-plane/operations';
import { artifactLink, catalogFor, isPublisherAdmin, requirePublisherAdmin } from '../../src/catalog';

/**
 * GET /offerings/{offeringId}/versions/{versionId}/artifact — presigned download link + sha256.
 * Service callers (runner, gateway) are admitted by their service role before this runs.
 */
export const getOfferingVersionArtifact: Handler<'getOfferingVersionArtifact'> = async (req, ctx) => {
  const service = ctx.caller?.kind === 'service';
  if (!service) requirePublisherAdmin(ctx.caller);
  ctx.annotate({ offeringId: req.params.offeringId, versionId: req.params.versionId });
  return {
    status: 200,
    body: await artifactLink(catalogFor(ctx.deps), ctx.deps.db, req.params.offeringId, req.params.versionId, { publisherAdmin: isPublisherAdmin(ctx.caller) }),
  };
};
