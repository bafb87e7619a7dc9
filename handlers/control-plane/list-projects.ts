import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /orgs/{orgId}/projects — not built yet: answers 501 NOT_IMPLEMENTED. */
export const listProjects: Handler<'listProjects'> = notImplemented('listProjects');
