import type { Handler } from '../../generated/control-plane/operations';
import { artifactLink, catalogFor, AUTHORING_OPERATION } from '../../src/catalog';

/**
 * GET /offerings/{offeringId}/versions/{versionId}/artifact — presigned download link + sha256.
 * Who may (publisher-admins, the runner, the gateway) is policy/'s; authors also reach versions
 * that are not certified.
 */
export const getOfferingVersionArtifact: Handler<'getOfferingVersionArtifact'> = async (req, ctx) => {
  ctx.annotate({ offeringId: req.params.offeringId, versionId: req.params.versionId });
  return {
    status: 200,
    body: await artifactLink(catalogFor(ctx.deps), ctx.deps.db, req.params.offeringId, req.params.versionId, { publisherAdmin: ctx.allows(AUTHORING_OPERATION) }),
  };
};
