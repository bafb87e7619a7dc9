import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /connectors — not built yet: answers 501 NOT_IMPLEMENTED. */
export const listConnectors: Handler<'listConnectors'> = notImplemented('listConnectors');
