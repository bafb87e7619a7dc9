import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /capabilities — not built yet: answers 501 NOT_IMPLEMENTED. */
export const listCapabilities: Handler<'listCapabilities'> = notImplemented('listCapabilities');
