import type { Handler } from '../../generated/gateway/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /v1/sessions — not built yet: answers 501 NOT_IMPLEMENTED. */
export const listSessions: Handler<'listSessions'> = notImplemented('listSessions');
