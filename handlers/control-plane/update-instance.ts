import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** PATCH /instances/{instanceId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const updateInstance: Handler<'updateInstance'> = notImplemented('updateInstance');
