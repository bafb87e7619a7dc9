import type { Handler } from '../../generated/control-plane/operations';
import { bindingsOfInstance } from '../../src/connectors/bindings';
import { idempotent } from '../../src/control-plane/idempotent';
import { loadInstance } from '../../src/instances/access';
import { applyAction } from '../../src/instances/service';

/**
 * POST /instances/{instanceId}/rotate-secrets — commits the desired state with a new rotation
 * stamp on every ExternalSecret, so External Secrets re-reads each binding's Vault path.
 */
export const rotateInstanceSecrets: Handler<'rotateInstanceSecrets'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    await loadInstance(trx, req.params.instanceId);
    const row = await applyAction(ctx.deps.instances, trx, req.params.instanceId, { action: 'rotate-secrets', actor: ctx.caller!.subject, requestId: ctx.requestId });
    // Every ExternalSecret of the instance is restamped by the commit: the active bindings it may use.
    const rotatedBindingIds = (await bindingsOfInstance(trx, row, { activeOnly: true })).map((b) => b.id);
    return {
      status: 202 as const,
      body: { instanceId: row.id, rotatedBindingIds, commit: row.gitops_commit, requestedAt: row.updated_at.toISOString() },
    };
  });
