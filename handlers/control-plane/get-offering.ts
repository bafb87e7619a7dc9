import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /offerings/{offeringId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getOffering: Handler<'getOffering'> = notImplemented('getOffering');
