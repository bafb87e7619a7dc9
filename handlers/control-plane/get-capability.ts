import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /capabilities/{capabilityId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getCapability: Handler<'getCapability'> = notImplemented('getCapability');
