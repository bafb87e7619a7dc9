import type { Knex } from 'knex';
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import type { Caller, RequestContext } from '../platform/http/handler-types';
import { roleSatisfies, type RequiredRole } from '../tenancy/roles';
import { resolveAccess, type Access, type ScopeRequest } from '../tenancy/scope';

/** The role a project API key acts with: it can run and read, never administer. */
const API_KEY_ROLE = 'member' as const;

/** The verified user token behind the call, or 403 for API keys, widgets and services. */
export function userPrincipal(ctx: RequestContext<unknown>): Principal {
  const p = ctx.caller?.principal;
  if (!p || p.kind !== 'user') throw new AppError('FORBIDDEN', 'This operation needs a signed-in user');
  return p;
}

/**
 * The one tenant check of the control plane for org/project-scoped operations. Users go through
 * their memberships; an API key reaches only its own project; services reach nothing this way
 * (they are authorised by their service role). Outside the scope is always 404.
 */
export async function requireAccess(db: Knex | Knex.Transaction, caller: Caller | undefined, scope: ScopeRequest, minRole: RequiredRole): Promise<Access> {
  if (caller?.kind === 'user' && caller.principal) return resolveAccess(db, caller.principal, scope, minRole);
  if (caller?.kind === 'api_key') {
    const what = scope.projectId !== undefined ? 'Project' : 'Org';
    const sameOrg = scope.orgId === undefined || scope.orgId === caller.orgId;
    const sameProject = scope.projectId === undefined || scope.projectId === caller.projectId;
    if (!sameOrg || !sameProject) throw new AppError('NOT_FOUND', `${what} not found`);
    if (!roleSatisfies(API_KEY_ROLE, minRole)) {
      throw new AppError('FORBIDDEN', `API keys cannot perform operations that need the ${minRole} role`);
    }
    return { orgId: caller.orgId!, projectId: scope.projectId, role: API_KEY_ROLE, userId: `apikey:${caller.keyId}` };
  }
  throw new AppError('NOT_FOUND', `${scope.projectId !== undefined ? 'Project' : 'Org'} not found`);
}

/** True when the caller is a platform service holding `svc:<name>`. */
export function isService(caller: Caller | undefined, name: string): boolean {
  return !!caller && (caller.kind === 'service' || caller.kind === 'webhook') && caller.roles.has(`svc:${name}`);
}

/** The Keycloak realm role of platform operators. */
export const PLATFORM_OPERATOR_ROLE = 'platform-operator';

/** True when a signed-in user holds the platform operator realm role. */
export function isPlatformOperator(caller: Caller | undefined): boolean {
  return caller?.kind === 'user' && caller.roles.has(PLATFORM_OPERATOR_ROLE);
}
