import type { Handler } from '../../generated/control-plane/operations';
import { requireAccess } from '../../src/control-plane/access';
import { bindingNotFound, findBinding, revokeBinding, toBinding } from '../../src/connectors/bindings';
import { refreshConnectorPolicies } from '../../src/connectors/policy-refresh';
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
  const revoked = await db.transaction(async (trx) => {
    const r = await revokeBinding(trx, ctx.deps.secrets, row, req.body?.reason, ctx.deps.log, { actor: ctx.caller?.subject, requestId: ctx.requestId });
    // Only a change (not a repeated revoke) commits new connector policies.
    if (row.status === 'active' && r.status === 'revoked') await refreshConnectorPolicies(ctx.deps.instances, trx, { projectId: row.project_id, instanceId: row.instance_id }, ctx.caller!.subject);
    return r;
  });
  ctx.annotate({ orgId: row.org_id, projectId: row.project_id });
  return { status: 200, body: toBinding(revoked) };
};
