/**
 * The one authorization step of every service, run before the handler: reads the operation's
 * `x-scope`, resolves the resource to its org/project (another tenant's id and a missing id are
 * the same 404), attaches the caller's role in that org, and asks the policies of policy/ once.
 * Denied: 404 when the caller may not even see the resource (outside their orgs, another
 * project's key, an instance outside a key's limit), otherwise 403 (401 without credentials).
 */
import { AppError } from '../errors';
import type { Caller } from '../http/handler-types';
import { decide, type ResolvedScope } from './engine';
import { isTenantKind, KIND_LABEL, readRef, type ScopeEntry, type TenantKind } from './scope';

/** Where a resource sits in the tenancy, as the service's store knows it. */
export interface ResolvedRow {
  orgId: string;
  projectId?: string;
  instanceId?: string;
  walletId?: string;
  /** Instances only: terminated ones are no run's instance. */
  terminated?: boolean;
}

/** The service's lookups for tenant resources (the control plane's database). */
export interface ScopeResolver {
  /** The resource's place in the tenancy, or undefined when no such resource exists. */
  resolve(kind: TenantKind, id: string): Promise<ResolvedRow | undefined>;
  /** The user's role in the org, or undefined when they are not a member. */
  roleOf(userId: string, orgId: string): Promise<string | undefined>;
}

export interface AuthorizeInput {
  operationId: string;
  scope: ScopeEntry[];
  /** The operation's `x-roles`, named in a 403's details. */
  roles: string[];
  caller: Caller | undefined;
  request: { params?: unknown; query?: unknown; body?: unknown };
  resolver?: ScopeResolver;
  /**
   * Before request validation a scope field may be missing or malformed: the step is then left
   * for after validation (`final`), where a missing field falls through to the next entry.
   */
  final: boolean;
}

const FIXED_ID = { catalog: 'store', platform: 'platform', caller: 'platform' } as const;

/** The resolved scope, or `undefined` when it must wait for the validated request. */
export async function authorize(input: AuthorizeInput): Promise<ResolvedScope | undefined> {
  const { caller, resolver } = input;
  let entry: ScopeEntry | undefined;
  let id: string | undefined;
  for (const e of input.scope) {
    if (!e.from) {
      entry = e;
      break;
    }
    id = readRef(e.from, input.request);
    if (id !== undefined) {
      entry = e;
      break;
    }
  }
  if (!entry) {
    if (!input.final) return undefined;
    const fields = input.scope.map((e) => `${e.from!.in}.${e.from!.name}`);
    throw new AppError('VALIDATION_FAILED', `The request must name ${fields.join(' or ')}`, { errors: fields.map((f) => ({ path: `/${f.replace('.', '/')}`, message: 'is required' })) });
  }

  let scope: ResolvedScope;
  if (isTenantKind(entry.kind)) {
    if (!resolver) throw new Error(`${input.operationId}: x-scope ${entry.kind} needs a scope resolver in this service`);
    const row = await resolver.resolve(entry.kind, id!);
    if (!row) throw notFound(entry.kind);
    scope = { kind: entry.kind, id: id!, ...row };
    if (caller?.kind === 'user') {
      const role = await resolver.roleOf(caller.subject, row.orgId);
      if (role) scope.role = role;
    }
  } else {
    scope = { kind: entry.kind, id: FIXED_ID[entry.kind as keyof typeof FIXED_ID] };
  }
  if (entry.via) {
    const viaId = readRef(entry.via, input.request);
    if (viaId !== undefined) {
      if (!resolver) throw new Error(`${input.operationId}: x-scope via needs a scope resolver in this service`);
      const inst = await resolver.resolve('instance', viaId);
      // A run's instance that is gone reaches nothing: the same 404 as the resource itself.
      if (!inst || inst.terminated || !inst.projectId) throw notFound(entry.kind as TenantKind);
      scope.via = { instanceId: viaId, projectId: inst.projectId, orgId: inst.orgId };
    } else if (caller?.kind === 'service') {
      // A service acts for a run: it names the run's instance, or it names nothing it may reach.
      throw new AppError('VALIDATION_FAILED', `Service callers must name the run's ${entry.via.name}`, { errors: [{ path: `/${entry.via.in}/${entry.via.name}`, message: 'required for service callers' }] });
    }
  }

  if (entry.self) scope.self = caller !== undefined && readRef(entry.self, input.request) === caller.subject;

  const decision = decide(caller, input.operationId, scope);
  if (decision.allow) return scope;
  if (!caller) throw new AppError('UNAUTHENTICATED', 'Missing credentials: send a bearer token or an API key');
  if (isTenantKind(scope.kind) && !sees(caller, scope)) throw notFound(scope.kind as TenantKind);
  throw forbidden(caller, scope, input.roles);
}

const notFound = (kind: TenantKind) => new AppError('NOT_FOUND', `${KIND_LABEL[kind]} not found`);

/**
 * Whether the caller may know the resource exists: members of its org, keys of its project
 * (within their instance limit for instances), the widget session of its instance, services.
 */
function sees(caller: Caller, scope: ResolvedScope): boolean {
  switch (caller.kind) {
    case 'user':
      return scope.role !== undefined;
    case 'api_key': {
      const inProject = scope.projectId !== undefined ? scope.projectId === caller.projectId : scope.orgId === caller.orgId;
      if (!inProject) return false;
      if (scope.instanceId && caller.instanceIds?.length) return caller.instanceIds.includes(scope.instanceId);
      return true;
    }
    case 'widget':
      return scope.instanceId !== undefined && scope.instanceId === caller.instanceId;
    default:
      // A service reaching a resource through a run's instance sees that instance's project only.
      return !scope.via || scope.via.projectId === scope.projectId;
  }
}

function forbidden(caller: Caller, scope: ResolvedScope, roles: string[]): AppError {
  const serviceRoles = roles.filter((r) => r.startsWith('service:')).map((r) => `svc:${r.slice('service:'.length)}`);
  if (caller.kind === 'service' || caller.kind === 'webhook') {
    return new AppError('FORBIDDEN', 'This service account may not call this operation', { requiredRoles: serviceRoles });
  }
  const others = roles.filter((r) => !r.startsWith('service:'));
  if (!others.length) return new AppError('FORBIDDEN', 'This operation is reserved for platform services', { requiredRoles: serviceRoles });
  if (caller.kind === 'api_key') {
    return new AppError('FORBIDDEN', caller.instanceIds?.length ? 'This API key is limited to instances: it cannot reach this resource' : 'API keys cannot perform this operation', { requiredRoles: others });
  }
  return new AppError('FORBIDDEN', `This needs one of the roles ${others.join(', ')}`, { requiredRoles: others, ...(scope.role ? { role: scope.role } : {}) });
}
