import type { Handler } from '../../generated/connector-gateway/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /v1/instances/{instanceId}/tools — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getInstanceToolPolicy: Handler<'getInstanceToolPolicy'> = notImplemented('getInstanceToolPolicy');
