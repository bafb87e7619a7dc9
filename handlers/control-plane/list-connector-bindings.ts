import type { Handler } from '../../generated/control-plane/operations';
import { requireAccess } from '../../src/control-plane/access';
import { listBindings } from '../../src/connectors/bindings';
import { loadInstance } from '../../src/instances/access';
import { AppError } from '../../src/platform/errors';

/** GET /connectors/bindings — references only (vaultPath), never the credential. Needs projectId or instanceId. */
export const listConnectorBindings: Handler<'listConnectorBindings'> = async (req, ctx) => {
  const q = req.query;
  let projectId = q.projectId;
  if (q.instanceId) {
    const inst = await loadInstance(ctx.deps.db, ctx.caller, q.instanceId, 'viewer');
    if (projectId && projectId !== inst.project_id) return { status: 200, body: { items: [], nextCursor: null } };
    projectId = inst.project_id;
  } else if (projectId) {
    await requireAccess(ctx.deps.db, ctx.caller, { projectId }, 'viewer');
  } else {
    throw new AppError('VALIDATION_FAILED', 'projectId or instanceId is required', { issues: [{ path: '/query/projectId', message: 'is required without instanceId' }] });
  }
  const body = await listBindings(ctx.deps.db, { projectId, instanceId: q.instanceId, connectorId: q.connectorId, status: q.status, cursor: q.cursor, limit: q.limit });
  return { status: 200, body };
};
