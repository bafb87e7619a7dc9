import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** DELETE /instances/{instanceId}/sessions/{sessionId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const deleteInstanceSession: Handler<'deleteInstanceSession'> = notImplemented('deleteInstanceSession');
