import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /runs/{runId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getRunRecord: Handler<'getRunRecord'> = notImplemented('getRunRecord');
