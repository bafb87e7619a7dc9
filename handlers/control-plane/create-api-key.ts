import type { Handler } from '../../generated/control-plane/operations';
import { actorOf, recordAudit } from '../../src/audit';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { createApiKey as issueKey } from '../../src/tenancy/project-api-keys';

/** POST /projects/{projectId}/api-keys — the secret is answered once (and never audited) */
export const createApiKey: Handler<'createApiKey'> = async (req, ctx) => {
  const principal = userPrincipal(ctx);
  const issued = await ctx.deps.db.transaction(async (trx) => {
    const k = await issueKey(trx, principal, { projectId: req.params.projectId, ...req.body });
    const { org_id: orgId } = await trx('projects').select('org_id').where({ id: k.apiKey.projectId }).first();
    await recordAudit(trx, {
      orgId,
      projectId: k.apiKey.projectId,
      action: 'api_key.created',
      resourceType: 'api_key',
      resourceId: k.apiKey.id,
      actor: actorOf(ctx.caller),
      requestId: ctx.requestId,
      // Identity only: name, public prefix, scope. The secret stays out.
      data: { apiKeyId: k.apiKey.id, name: k.apiKey.name, prefix: k.apiKey.prefix, instanceIds: k.apiKey.instanceIds, expiresAt: k.apiKey.expiresAt },
    });
    return k;
  });
  return { status: 201, body: wire(issued) };
};
