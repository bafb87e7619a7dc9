import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /offerings/{offeringId}/versions — not built yet: answers 501 NOT_IMPLEMENTED. */
export const createOfferingVersion: Handler<'createOfferingVersion'> = notImplemented('createOfferingVersion');
