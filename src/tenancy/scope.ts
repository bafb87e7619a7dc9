/**
 * Tenant scoping for the tenancy domain's queries (who may call an operation at all is decided
 * before, by policy/ through the operation's `x-scope`). "Outside your scope" answers the same
 * way everywhere:
 *
 * - not a member of the org (or the org/project/resource does not exist) → 404 NOT_FOUND,
 *   identical in both cases, so ids cannot be probed across tenants;
 * - a member whose role is below a `minRole` a caller asks for → 403 FORBIDDEN.
 *
 * Only user principals hold memberships. Service principals (svc:* roles) reach tenant
 * resources only as policy/ allows, never through tenant scope: here they see nothing.
 */
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { one, type Db } from '../db/tx';
import { MembershipModel } from './models';
import { roleSatisfies, type OrgRole, type RequiredRole } from './roles';

export interface ScopeRequest {
  orgId?: string;
  projectId?: string;
}

export interface Access {
  orgId: string;
  /** Present when the request named a project (it is in `orgId`). */
  projectId?: string;
  /** The caller's role in the org. */
  role: OrgRole;
  userId: string;
}

const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);

/** FORBIDDEN for a member whose role does not reach `required`. */
export function insufficientRole(required: RequiredRole, held: OrgRole): AppError {
  return new AppError('FORBIDDEN', `This needs the ${required} role in the org`, { requiredRole: required, role: held });
}

/** The org ids the principal is a member of (empty for services). */
export async function orgIdsOf(db: Db, principal: Principal): Promise<string[]> {
  if (principal.kind !== 'user') return [];
  const r = await MembershipModel.query(db).select('org_id').where('user_id', principal.subject).orderBy('org_id');
  return r.map((x) => x.org_id);
}

/**
 * Resolves the caller's access to an org or a project in it, or throws NOT_FOUND / FORBIDDEN.
 * When both ids are given they must agree (a project of another org is NOT_FOUND).
 */
export async function resolveAccess(db: Db, principal: Principal, scope: ScopeRequest, minRole: RequiredRole): Promise<Access> {
  const what = scope.projectId !== undefined ? 'Project' : 'Org';
  if (scope.orgId === undefined && scope.projectId === undefined) {
    throw new Error('resolveAccess: orgId or projectId is required');
  }
  if (principal.kind !== 'user') throw notFound(what);

  let row: { org_id: string; role: OrgRole } | undefined;
  if (scope.projectId !== undefined) {
    row = await MembershipModel.query(db)
      .select('memberships.org_id', 'memberships.role')
      .joinRelated('org.projects')
      .where({ 'memberships.user_id': principal.subject, 'org:projects.id': scope.projectId })
      .first();
    if (row && scope.orgId !== undefined && row.org_id !== scope.orgId) row = undefined;
  } else {
    row = await MembershipModel.query(db).select('org_id', 'role').findById([scope.orgId!, principal.subject]);
  }
  if (!row) throw notFound(what);
  if (!roleSatisfies(row.role, minRole)) {
    throw insufficientRole(minRole, row.role);
  }
  const access: Access = { orgId: row.org_id, role: row.role, userId: principal.subject };
  if (scope.projectId !== undefined) access.projectId = scope.projectId;
  return access;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export interface LoadScopedOptions {
  /** Column holding the row's org id. Default `org_id`. */
  orgColumn?: string;
  /** Name in the NOT_FOUND message. Default: the table name without a trailing `s`, capitalised. */
  what?: string;
  /** When set, a member below this role gets FORBIDDEN (a non-member still gets NOT_FOUND). */
  minRole?: RequiredRole;
  /** `for update`: lock the row for the rest of the transaction. */
  forUpdate?: boolean;
}

function label(table: string): string {
  const singular = table.endsWith('s') ? table.slice(0, -1) : table;
  return singular.charAt(0).toUpperCase() + singular.slice(1).replace(/_/g, ' ');
}

/**
 * Loads one row of a scoped table by id, only when its org is one of the principal's orgs;
 * otherwise NOT_FOUND, exactly as if the id did not exist. Pass the transaction.
 */
export async function loadScoped<T extends Record<string, unknown> = Record<string, unknown>>(
  trx: Db,
  table: string,
  id: string,
  principal: Principal,
  options: LoadScopedOptions = {},
): Promise<T> {
  const orgColumn = options.orgColumn ?? 'org_id';
  if (!IDENTIFIER.test(table) || !IDENTIFIER.test(orgColumn)) throw new Error(`loadScoped: bad identifier ${table}.${orgColumn}`);
  const what = options.what ?? label(table);
  if (principal.kind !== 'user' || typeof id !== 'string' || id.length === 0) throw notFound(what);

  // Any scoped table, named by the caller: one generic statement rather than a model per table.
  const found = await one<T & { __member_role: OrgRole }>(
    trx,
    `select t.*, m.role as __member_role
       from "${table}" t
       join memberships m on m.org_id = t."${orgColumn}" and m.user_id = ?
      where t.id = ?${options.forUpdate ? ' for update of t' : ''}`,
    [principal.subject, id],
  );
  if (!found) throw notFound(what);
  const { __member_role: role, ...rest } = found;
  if (options.minRole !== undefined && !roleSatisfies(role, options.minRole)) {
    throw insufficientRole(options.minRole, role);
  }
  return rest as unknown as T;
}
