import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /offerings/{offeringId}/versions/{versionId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getOfferingVersion: Handler<'getOfferingVersion'> = notImplemented('getOfferingVersion');
