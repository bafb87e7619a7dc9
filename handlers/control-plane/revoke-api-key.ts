import type { Handler } from '../../generated/control-plane/operations';
import { actorOf, recordAudit } from '../../src/audit';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { revokeApiKey as revoke } from '../../src/tenancy/project-api-keys';

/** POST /projects/{projectId}/api-keys/{keyId}/revoke — audited as `api_key.revoked`. */
export const revokeApiKey: Handler<'revokeApiKey'> = async (req, ctx) => {
  const principal = userPrincipal(ctx);
  const key = await ctx.deps.db.transaction(async (trx) => {
    const k = await revoke(trx, principal, req.params);
    // A repeated revoke answers the same key and was audited the first time: only a key revoked
    // by this transaction (revoked_at = its now()) is recorded.
    const { rows } = (await trx.raw('select now() as now')) as { rows: { now: Date }[] };
    if (k.revokedAt?.getTime() !== rows[0].now.getTime()) return k;
    const { org_id: orgId } = await trx('projects').select('org_id').where({ id: k.projectId }).first();
    await recordAudit(trx, {
      orgId,
      projectId: k.projectId,
      action: 'api_key.revoked',
      resourceType: 'api_key',
      resourceId: k.id,
      actor: actorOf(ctx.caller),
      requestId: ctx.requestId,
      data: { apiKeyId: k.id, name: k.name, prefix: k.prefix },
    });
    return k;
  });
  return { status: 200, body: wire(key) };
};
