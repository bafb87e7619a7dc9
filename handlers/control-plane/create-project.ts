import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /orgs/{orgId}/projects — not built yet: answers 501 NOT_IMPLEMENTED. */
export const createProject: Handler<'createProject'> = notImplemented('createProject');
