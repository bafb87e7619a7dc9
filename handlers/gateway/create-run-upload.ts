import type { Handler } from '../../generated/gateway/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /v1/uploads — not built yet: answers 501 NOT_IMPLEMENTED. */
export const createRunUpload: Handler<'createRunUpload'> = notImplemented('createRunUpload');
