import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /rag/ingestions/{ingestionId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getIngestion: Handler<'getIngestion'> = notImplemented('getIngestion');
