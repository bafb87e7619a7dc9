import type { Handler } from '../../generated/control-plane/operations';
import { authorizedScope, userPrincipal } from '../../src/control-plane/access';
import { listBindings } from '../../src/connectors/bindings';
import { orgIdsOf } from '../../src/tenancy/scope';

/**
 * GET /connectors/bindings — references only (vaultPath), never the credential. Scoped to a
 * project (projectId), to what an instance may use (instanceId), or else to every org the caller
 * is a member of.
 */
export const listConnectorBindings: Handler<'listConnectorBindings'> = async (req, ctx) => {
  const q = req.query;
  const rest = { instanceId: q.instanceId, connectorId: q.connectorId, status: q.status, cursor: q.cursor, limit: q.limit };
  if (q.instanceId) {
    const inst = { project_id: authorizedScope(ctx).projectId! };
    if (q.projectId && q.projectId !== inst.project_id) return { status: 200, body: { items: [], nextCursor: null } };
    return { status: 200, body: await listBindings(ctx.deps.db, { projectId: inst.project_id, ...rest }) };
  }
  if (q.projectId) {
    return { status: 200, body: await listBindings(ctx.deps.db, { projectId: q.projectId, ...rest }) };
  }
  const orgIds = await orgIdsOf(ctx.deps.db, userPrincipal(ctx));
  return { status: 200, body: await listBindings(ctx.deps.db, { orgIds, ...rest }) };
};
