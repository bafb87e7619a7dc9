/**
 * Who may touch which knowledge base. Users reach the KBs of projects they can access (their
 * memberships, src/tenancy/scope.ts); a project API key reaches only its own project; the Runner
 * (`svc:runner`) reaches a KB only through an `instanceId` whose project owns it.
 *
 * How the Runner proves scope: its service token proves it is the Runner (a platform service the
 * Gateway hands runs to after entitlement checks); the `instanceId` it sends is the run's instance,
 * and the Control Plane — not the Runner — derives org and project from that instance's row. A KB
 * outside the instance's project answers 404, as does a terminated or unknown instance, so even a
 * Runner sending the wrong KB id (a mis-configured flow or a tweak) cannot read another tenant's
 * chunks. Anything outside the caller's scope is 404, exactly like an id that does not exist.
 */
import type { Knex } from 'knex';
import { isService, requireAccess } from '../control-plane/access';
import { AppError } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';
import type { RequiredRole } from '../tenancy/roles';
import type { TenantScope } from './backend';

type Db = Knex | Knex.Transaction;

/** The scope of a row of `table` (knowledge_bases or ingestions) as the caller may see it, or 404. */
export async function rowScopeFor(db: Db, caller: Caller | undefined, table: 'knowledge_bases' | 'ingestions', id: string, minRole: RequiredRole): Promise<TenantScope> {
  const what = table === 'knowledge_bases' ? 'Knowledge base' : 'Ingestion';
  const notFound = () => new AppError('NOT_FOUND', `${what} not found`);
  if (caller?.kind === 'api_key') {
    const access = await requireAccess(db, caller, { orgId: caller.orgId, projectId: caller.projectId }, minRole);
    return { orgId: access.orgId, projectId: caller.projectId! };
  }
  if (caller?.kind !== 'user') throw notFound();
  const row = await db(table).where({ id }).first<{ org_id: string; project_id: string } | undefined>('org_id', 'project_id');
  if (!row) throw notFound();
  try {
    await requireAccess(db, caller, { orgId: row.org_id, projectId: row.project_id }, minRole);
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') throw notFound();
    throw err;
  }
  return { orgId: row.org_id, projectId: row.project_id };
}

/** The Runner's scope for a query: the project of `instanceId` (required for service callers). */
export async function runnerScope(db: Db, caller: Caller | undefined, instanceId: string | undefined): Promise<TenantScope | undefined> {
  if (!isService(caller, 'runner')) return undefined;
  if (!instanceId) {
    throw new AppError('VALIDATION_FAILED', 'Service callers must name the run\'s instanceId', { errors: [{ path: '/body/instanceId', message: 'required for service callers' }] });
  }
  const inst = await db('instances').where({ id: instanceId }).first<{ org_id: string; project_id: string; state: string } | undefined>('org_id', 'project_id', 'state');
  if (!inst || inst.state === 'terminated') throw new AppError('NOT_FOUND', 'Knowledge base not found');
  return { orgId: inst.org_id, projectId: inst.project_id };
}
