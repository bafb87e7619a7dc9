import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /offerings/{offeringId}/versions/{versionId}/artifact — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getOfferingVersionArtifact: Handler<'getOfferingVersionArtifact'> = notImplemented('getOfferingVersionArtifact');
