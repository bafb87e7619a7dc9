import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /connectors/bindings/{bindingId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getConnectorBinding: Handler<'getConnectorBinding'> = notImplemented('getConnectorBinding');
