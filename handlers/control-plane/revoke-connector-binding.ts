import type { Handler } from '../../generated/control-plane/operations';
import { requireAccess } from '../../src/control-plane/access';
import { bindingNotFound, findBinding, revokeBinding, toBinding } from '../../src/connectors/bindings';
import { AppError } from '../../src/platform/errors';

/** POST /connectors/bindings/{bindingId}/revoke — deletes the secret's current version, marks the binding revoked; idempotent. */
export const revokeConnectorBinding: Handler<'revokeConnectorBinding'> = async (req, ctx) => {
  const db = ctx.deps.db;
  const row = await findBinding(db, req.params.bindingId);
  if (!row) throw bindingNotFound();
  try {
    await requireAccess(db, ctx.caller, { orgId: row.org_id, projectId: row.project_id }, 'admin');
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') throw bindingNotFound();
    throw err;
  }
  const revoked = await db.transaction((trx) => revokeBinding(trx, ctx.deps.secrets, row, req.body?.reason, ctx.deps.log, { actor: ctx.caller?.subject, requestId: ctx.requestId }));
  ctx.annotate({ orgId: row.org_id, projectId: row.project_id });
  return { status: 200, body: toBinding(revoked) };
};
