import type { Handler } from '../../generated/gateway/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /v1/sessions/{sessionId}/messages — not built yet: answers 501 NOT_IMPLEMENTED. */
export const listSessionMessages: Handler<'listSessionMessages'> = notImplemented('listSessionMessages');
