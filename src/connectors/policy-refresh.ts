import type { Knex } from 'knex';
import { fn, raw } from 'objection';
import { InstanceModel } from '../instances/models';
import { afterCommit } from '../db/tx';
import type { InstancesEnv } from '../instances/service';

/** Capabilities whose desired state references connector bindings (ExternalSecrets, ConnectorPolicy). */
const BINDING_CAPABILITIES = ['tool_connectors', 'mcp_tools', 'human_handover'];

/**
 * A binding was created or revoked: every live instance that may use it (its own instance, or the
 * whole project) gets a new desired-state generation, committed after the transaction, so the
 * ConnectorPolicy and the ExternalSecrets in GitOps follow (a revoked binding's ExternalSecret is
 * removed). Gateways drop their cached entitlements at once. Answers the instance ids.
 */
export async function refreshConnectorPolicies(
  env: InstancesEnv,
  trx: Knex.Transaction,
  scope: { projectId: string; instanceId?: string | null },
  actor: string,
): Promise<string[]> {
  const q = InstanceModel.query(trx)
    .where({ project_id: scope.projectId })
    .whereIn('state', ['requested', 'provisioning', 'active', 'paused'])
    // jsonb "has any of these keys" (?|) is an operator the query builder has no word for.
    .whereRaw(`effective_config \\?| array[${BINDING_CAPABILITIES.map(() => '?').join(', ')}]`, BINDING_CAPABILITIES);
  if (scope.instanceId) q.andWhere({ id: scope.instanceId });
  const rows = await q.patch({ generation: raw('generation + 1'), updated_at: fn.now() }).returning('id');
  for (const { id } of rows) {
    afterCommit(trx, () => env.desiredState.kick(id, { actor, action: 'update' }));
    if (env.onLifecycleChange) afterCommit(trx, () => env.onLifecycleChange!(id));
  }
  return rows.map((r) => r.id);
}
