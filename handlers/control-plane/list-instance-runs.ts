import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /instances/{instanceId}/runs — not built yet: answers 501 NOT_IMPLEMENTED. */
export const listInstanceRuns: Handler<'listInstanceRuns'> = notImplemented('listInstanceRuns');
