import type { Handler } from '../../generated/gateway/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** DELETE /v1/sessions/{sessionId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const deleteSession: Handler<'deleteSession'> = notImplemented('deleteSession');
