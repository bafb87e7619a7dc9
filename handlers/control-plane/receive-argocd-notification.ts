import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /integrations/argocd/notifications — not built yet: answers 501 NOT_IMPLEMENTED. */
export const receiveArgocdNotification: Handler<'receiveArgocdNotification'> = notImplemented('receiveArgocdNotification');
