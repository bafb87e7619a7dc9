/**
 * Where the control plane's tenant resources sit (org, project, instance, wallet), for the
 * authorization step of the service runtime (src/platform/policy/authorize.ts), and the caller's
 * role in an org. One indexed lookup per request, plus the membership for users.
 */
import type { Knex } from 'knex';
import type { ResolvedRow, ScopeResolver } from '../platform/policy/authorize';
import type { TenantKind } from '../platform/policy/scope';

type Row = { org_id: string; project_id?: string | null; instance_id?: string | null; wallet_id?: string | null; state?: string };

export function controlPlaneScopes(db: Knex): ScopeResolver {
  const first = (table: string, columns: string[], id: string) => db(table).select(columns).where({ id }).first<Row | undefined>();
  const lookups: Record<TenantKind, (id: string) => Promise<ResolvedRow | undefined>> = {
    org: async (id) => ((await db('orgs').select('id').where({ id }).first()) ? { orgId: id } : undefined),
    project: async (id) => {
      const r = await first('projects', ['org_id'], id);
      return r && { orgId: r.org_id, projectId: id };
    },
    instance: async (id) => {
      const r = await first('instances', ['org_id', 'project_id', 'state'], id);
      return r && { orgId: r.org_id, projectId: r.project_id!, instanceId: id, terminated: r.state === 'terminated' };
    },
    run: async (id) => {
      const r = await first('runs', ['org_id', 'project_id', 'instance_id'], id);
      return r && { orgId: r.org_id, projectId: r.project_id!, instanceId: r.instance_id! };
    },
    wallet: async (id) => {
      const r = await first('wallets', ['org_id', 'project_id'], id);
      return r && { orgId: r.org_id, ...(r.project_id ? { projectId: r.project_id } : {}), walletId: id };
    },
    reservation: async (id) => {
      const r = await db('reservations as r').join('wallets as w', 'w.id', 'r.wallet_id').select('w.org_id', 'w.project_id', 'r.wallet_id', 'r.instance_id').where('r.id', id).first<Row | undefined>();
      return r && { orgId: r.org_id, ...(r.project_id ? { projectId: r.project_id } : {}), walletId: r.wallet_id! };
    },
    knowledgeBase: async (id) => {
      const r = await first('knowledge_bases', ['org_id', 'project_id'], id);
      return r && { orgId: r.org_id, projectId: r.project_id! };
    },
    ingestion: async (id) => {
      const r = await first('ingestions', ['org_id', 'project_id'], id);
      return r && { orgId: r.org_id, projectId: r.project_id! };
    },
    connectorBinding: async (id) => {
      const r = await first('connector_bindings', ['org_id', 'project_id'], id);
      return r && { orgId: r.org_id, projectId: r.project_id! };
    },
  };
  return {
    resolve: (kind, id) => lookups[kind](id),
    async roleOf(userId, orgId) {
      const m = await db('memberships').select('role').where({ org_id: orgId, user_id: userId }).first<{ role: string } | undefined>();
      return m?.role;
    },
  };
}
