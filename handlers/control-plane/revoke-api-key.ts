import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /projects/{projectId}/api-keys/{keyId}/revoke — not built yet: answers 501 NOT_IMPLEMENTED. */
export const revokeApiKey: Handler<'revokeApiKey'> = notImplemented('revokeApiKey');
