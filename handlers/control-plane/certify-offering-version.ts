import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /offerings/{offeringId}/versions/{versionId}/certify — not built yet: answers 501 NOT_IMPLEMENTED. */
export const certifyOfferingVersion: Handler<'certifyOfferingVersion'> = notImplemented('certifyOfferingVersion');
