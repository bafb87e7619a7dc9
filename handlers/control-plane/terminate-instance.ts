import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /instances/{instanceId}/terminate — not built yet: answers 501 NOT_IMPLEMENTED. */
export const terminateInstance: Handler<'terminateInstance'> = notImplemented('terminateInstance');
