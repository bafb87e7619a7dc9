import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /integrations/langflow/flows:publish — not built yet: answers 501 NOT_IMPLEMENTED. */
export const publishLangflowFlow: Handler<'publishLangflowFlow'> = notImplemented('publishLangflowFlow');
