import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /projects/{projectId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getProject: Handler<'getProject'> = notImplemented('getProject');
