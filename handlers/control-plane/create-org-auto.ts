import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /orgs/auto — not built yet: answers 501 NOT_IMPLEMENTED. */
export const createOrgAuto: Handler<'createOrgAuto'> = notImplemented('createOrgAuto');
