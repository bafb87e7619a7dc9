import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /connectors/bindings — not built yet: answers 501 NOT_IMPLEMENTED. */
export const createConnectorBinding: Handler<'createConnectorBinding'> = notImplemented('createConnectorBinding');
