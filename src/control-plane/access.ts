/**
 * What handlers read about the caller once policy/ has authorized the request (the service
 * runtime does that before any handler runs: src/platform/policy/authorize.ts). No role is
 * checked here: handlers take the authorized scope (org, project, instance) and scope their
 * queries with it.
 */
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import type { Caller, RequestContext } from '../platform/http/handler-types';
import type { ResolvedScope } from '../platform/policy/engine';

/** The verified user token behind the call, or 403 for API keys, widgets and services. */
export function userPrincipal(ctx: RequestContext<unknown>): Principal {
  const p = ctx.caller?.principal;
  if (!p || p.kind !== 'user') throw new AppError('FORBIDDEN', 'This operation needs a signed-in user');
  return p;
}

/** The resource `x-scope` named, as resolved and authorized before the handler ran. */
export function authorizedScope(ctx: RequestContext<unknown>): ResolvedScope {
  if (!ctx.scope) throw new Error(`${ctx.operationId}: no authorized scope (the operation's x-scope was not resolved)`);
  return ctx.scope;
}

/** The org and project of the authorized resource (operations scoped to a project or below). */
export function projectScope(ctx: RequestContext<unknown>): { orgId: string; projectId: string } {
  const s = authorizedScope(ctx);
  if (!s.orgId || !s.projectId) throw new Error(`${ctx.operationId}: the authorized scope has no project`);
  return { orgId: s.orgId, projectId: s.projectId };
}

export { isPlatformOperator, isService, PLATFORM_OPERATOR_ROLE } from '../platform/http/callers';
