import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /orgs/{orgId}/teams — not built yet: answers 501 NOT_IMPLEMENTED. */
export const createTeam: Handler<'createTeam'> = notImplemented('createTeam');
