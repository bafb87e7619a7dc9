import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /instances/{instanceId}/entitlements — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getInstanceEntitlements: Handler<'getInstanceEntitlements'> = notImplemented('getInstanceEntitlements');
