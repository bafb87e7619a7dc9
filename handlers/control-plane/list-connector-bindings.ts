import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /connectors/bindings — not built yet: answers 501 NOT_IMPLEMENTED. */
export const listConnectorBindings: Handler<'listConnectorBindings'> = notImplemented('listConnectorBindings');
