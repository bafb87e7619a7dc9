import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /offerings — not built yet: answers 501 NOT_IMPLEMENTED. */
export const createOffering: Handler<'createOffering'> = notImplemented('createOffering');
