import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /integrations/langflow/versions/{versionId}/status — not built yet: answers 501 NOT_IMPLEMENTED. */
export const getLangflowVersionStatus: Handler<'getLangflowVersionStatus'> = notImplemented('getLangflowVersionStatus');
