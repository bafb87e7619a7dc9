import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /orgs/{orgId}/teams — not built yet: answers 501 NOT_IMPLEMENTED. */
export const listTeams: Handler<'listTeams'> = notImplemented('listTeams');
