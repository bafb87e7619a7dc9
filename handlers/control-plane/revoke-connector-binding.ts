import type { Handler } from '../../generated/control-plane/operations';
import { bindingNotFound, findBinding, revokeBinding, toBinding } from '../../src/connectors/bindings';
import { refreshConnectorPolicies } from '../../src/connectors/policy-refresh';

/** POST /connectors/bindings/{bindingId}/revoke — deletes the secret's current version, marks the binding revoked; idempotent. */
export const revokeConnectorBinding: Handler<'revokeConnectorBinding'> = async (req, ctx) => {
  const db = ctx.deps.db;
  const row = await findBinding(db, req.params.bindingId);
  if (!row) throw bindingNotFound();
  const revoked = await db.transaction(async (trx) => {
    const r = await revokeBinding(trx, ctx.deps.secrets, row, req.body?.reason, ctx.deps.log, { actor: ctx.caller?.subject, requestId: ctx.requestId });
    // Only a change (not a repeated revoke) commits new connector policies.
    if (row.status === 'active' && r.status === 'revoked') await refreshConnectorPolicies(ctx.deps.instances, trx, { projectId: row.project_id, instanceId: row.instance_id }, ctx.caller!.subject);
    return r;
  });
  ctx.annotate({ orgId: row.org_id, projectId: row.project_id });
  return { status: 200, body: toBinding(revoked) };
};
