import type { Handler } from '../../generated/control-plane/operations';
import { authorizedScope } from '../../src/control-plane/access';
import { AppError } from '../../src/platform/errors';
import { listInstanceRows } from '../../src/instances/queries';
import { toInstance } from '../../src/instances/rows';
import { orgIdsOf } from '../../src/tenancy/scope';

/**
 * GET /instances — the caller's instances (a project's, an org's, or every org they belong to);
 * `stuck=true` lists those provisioning longer than `stuckAfterSeconds` (default: the platform's).
 */
export const listInstances: Handler<'listInstances'> = async (req, ctx) => {
  const { db, instances: env } = ctx.deps;
  const q = req.query;
  let orgIds: string[] | undefined;
  let projectIds: string[] | undefined;
  const scope = authorizedScope(ctx);
  if (q.projectId) {
    // A project of another org than the one named is not found, like any other tenant's.
    if (q.orgId !== undefined && q.orgId !== scope.orgId) throw new AppError('NOT_FOUND', 'Project not found');
    projectIds = [q.projectId];
  } else if (q.orgId) {
    orgIds = [q.orgId];
  } else if (ctx.caller?.kind === 'api_key') {
    projectIds = [ctx.caller.projectId!];
  } else {
    orgIds = ctx.caller?.principal ? await orgIdsOf(db, ctx.caller.principal) : [];
  }
  const stuckAfterMs = q.stuck ? (q.stuckAfterSeconds !== undefined ? q.stuckAfterSeconds * 1000 : env.stuckAfterMs) : undefined;
  const page = await listInstanceRows(db, { orgIds, projectIds, offeringId: q.offeringId, state: q.state, stuckAfterMs, cursor: q.cursor, limit: q.limit ?? 50 });
  return { status: 200, body: { items: page.rows.map((r) => toInstance(r, env.env, env.stuckAfterMs)), nextCursor: page.nextCursor } };
};
