import type { Handler } from '../../generated/control-plane/operations';
import { isService, requireAccess } from '../../src/control-plane/access';
import { bindingNotFound, findBinding, toBinding } from '../../src/connectors/bindings';
import { AppError } from '../../src/platform/errors';

/** GET /connectors/bindings/{bindingId} — the reference (vaultPath), never the secret; another tenant's id is 404. */
export const getConnectorBinding: Handler<'getConnectorBinding'> = async (req, ctx) => {
  const row = await findBinding(ctx.deps.db, req.params.bindingId);
  if (!row) throw bindingNotFound();
  if (!isService(ctx.caller, 'connector-gateway')) {
    try {
      await requireAccess(ctx.deps.db, ctx.caller, { orgId: row.org_id, projectId: row.project_id }, 'viewer');
    } catch (err) {
      if (err instanceof AppError && err.code === 'NOT_FOUND') throw bindingNotFound();
      throw err;
    }
  }
  return { status: 200, body: toBinding(row) };
};
