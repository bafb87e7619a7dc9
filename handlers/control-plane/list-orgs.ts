import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { listOrgsForUser } from '../../src/tenancy/orgs';

/** GET /orgs — the orgs the caller is a member of. */
export const listOrgs: Handler<'listOrgs'> = async (req, ctx) => {
  const page = await listOrgsForUser(ctx.deps.db, userPrincipal(ctx), { cursor: req.query.cursor, limit: req.query.limit });
  return { status: 200, body: wire(page) };
};
