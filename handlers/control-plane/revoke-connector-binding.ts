import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /connectors/bindings/{bindingId}/revoke — not built yet: answers 501 NOT_IMPLEMENTED. */
export const revokeConnectorBinding: Handler<'revokeConnectorBinding'> = notImplemented('revokeConnectorBinding');
