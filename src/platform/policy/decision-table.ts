/**
 * The decision table the specs promise: every operation × caller × own/foreign resource, with
 * the answer `x-roles` and `x-scope` say it must get (allow, 401, 403 or 404). `npm run gen`
 * checks the policies of policy/ against every cell (through the runtime's authorization step,
 * with an in-memory tenancy); test/foundation/decision-table.test.ts checks the running control
 * plane against the cells of its operations over HTTP.
 */
import { isTenantKind, parseScope, RESOURCE_TYPE, type ScopeEntry } from './scope';

export const ORG_ROLES = ['owner', 'admin', 'member', 'viewer', 'publisher-admin'] as const;
export const SERVICES = ['gateway', 'runner', 'runtime', 'connector-gateway', 'provisioner', 'argocd', 'scheduler'] as const;

/** Who calls, as the table distinguishes them. */
export type Subject =
  | { kind: 'member'; role: (typeof ORG_ROLES)[number] }
  | { kind: 'realm'; role: 'publisher-admin' | 'platform-operator' }
  | { kind: 'api-key'; limit: 'none' | 'this-instance' | 'other-instance' }
  | { kind: 'widget' }
  | { kind: 'service'; name: (typeof SERVICES)[number] }
  | { kind: 'anonymous' };

export const SUBJECTS: Subject[] = [
  ...ORG_ROLES.map((role) => ({ kind: 'member' as const, role })),
  { kind: 'realm', role: 'publisher-admin' },
  { kind: 'realm', role: 'platform-operator' },
  { kind: 'api-key', limit: 'none' },
  { kind: 'api-key', limit: 'this-instance' },
  { kind: 'api-key', limit: 'other-instance' },
  { kind: 'widget' },
  ...SERVICES.map((name) => ({ kind: 'service' as const, name })),
  { kind: 'anonymous' },
];

export function subjectName(s: Subject): string {
  switch (s.kind) {
    case 'member':
      return `member:${s.role}`;
    case 'realm':
      return `realm:${s.role}`;
    case 'api-key':
      return `api-key:${s.limit}`;
    case 'service':
      return `service:${s.name}`;
    default:
      return s.kind;
  }
}

export type Expected = 'allow' | 401 | 403 | 404;
export type Tenancy = 'own' | 'foreign';

export interface TableOperation {
  service: string;
  operationId: string;
  method: string;
  path: string;
  roles: string[];
  scope: ScopeEntry[];
  /** Security schemes, per alternative; an empty alternative = no credentials needed. */
  security: string[][];
}

export interface Cell {
  op: TableOperation;
  subject: Subject;
  tenancy: Tenancy;
  expect: Expected;
}

/** The credential scheme each subject presents: widget sessions and users/services use bearer tokens. */
function presents(s: Subject): string | undefined {
  if (s.kind === 'anonymous') return undefined;
  return s.kind === 'api-key' ? 'apiKeyAuth' : s.kind === 'service' && s.name === 'argocd' ? 'argocdWebhookAuth' : 'bearerAuth';
}

const OPEN = ['public', 'saleor-webhook', 'saleor-app-install', 'trigger-webhook'];

/** What the specs say the subject gets on the operation's first (primary) scope entry. */
export function expected(op: TableOperation, s: Subject, tenancy: Tenancy): Expected {
  const roles = op.roles;
  if (roles.some((r) => OPEN.includes(r))) return 'allow';
  // Widget sessions are the gateway's own tokens; no other service accepts them.
  if (s.kind === 'widget' && op.service !== 'gateway') return 401;
  const scheme = presents(s);
  if (!scheme || !op.security.some((alt) => alt.includes(scheme))) return 401;
  const entry = op.scope[0]!;
  const tenant = isTenantKind(entry.kind);
  const foreign = tenant && tenancy === 'foreign';
  switch (s.kind) {
    case 'service': {
      if (!roles.includes(`service:${s.name}`)) return foreign && entry.via ? 404 : 403;
      // A service reaching a resource through the run's instance reaches that instance's project only.
      if (entry.via && foreign) return 404;
      return 'allow';
    }
    case 'member': {
      if (!tenant) return userOnUntenanted(op, entry, undefined);
      if (foreign) return 404;
      return roles.includes(s.role) ? 'allow' : 403;
    }
    case 'realm': {
      if (!tenant) return userOnUntenanted(op, entry, s.role);
      if (s.role === 'platform-operator' && roles.includes('platform-operator')) return 'allow';
      return 404;
    }
    case 'api-key': {
      if (tenant && foreign) return 404;
      const listed = roles.includes('project-api-key');
      if (!tenant) return listed ? 'allow' : 403;
      const instance = RESOURCE_TYPE[entry.kind] === 'Instance';
      if (s.limit === 'other-instance' && instance) return 404;
      if (!listed) return 403;
      if (s.limit !== 'none' && !instance) return 403;
      return 'allow';
    }
    case 'widget':
      return !tenant && roles.includes('widget-session') ? 'allow' : 403;
    default:
      return 401;
  }
}

function userOnUntenanted(op: TableOperation, entry: ScopeEntry, realm: string | undefined): Expected {
  const roles = op.roles;
  if (roles.includes('authenticated')) return 'allow';
  if (realm && roles.includes(realm) && (entry.kind === 'catalog' || realm === 'platform-operator')) return 'allow';
  // Without a tenant named, org roles are decided where the tenant is (the control plane).
  if (entry.kind === 'caller' && roles.some((r) => (ORG_ROLES as readonly string[]).includes(r))) return 'allow';
  return 403;
}

/** The operations of one bundled spec, as the table reads them. */
export function tableOperations(service: string, spec: any): TableOperation[] {
  const out: TableOperation[] = [];
  for (const [path, item] of Object.entries<any>(spec.paths ?? {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
      const op = item?.[method];
      if (!op?.operationId) continue;
      out.push({
        service,
        operationId: op.operationId,
        method,
        path,
        roles: op['x-roles'] ?? [],
        scope: parseScope(op['x-scope'], op.operationId),
        security: (op.security ?? spec.security ?? []).map((req: Record<string, unknown>) => Object.keys(req)),
      });
    }
  }
  return out;
}

/** Every cell: operation × subject × own/foreign. */
export function decisionTable(ops: TableOperation[]): Cell[] {
  const cells: Cell[] = [];
  for (const op of ops) {
    for (const subject of SUBJECTS) {
      for (const tenancy of ['own', 'foreign'] as const) cells.push({ op, subject, tenancy, expect: expected(op, subject, tenancy) });
    }
  }
  return cells;
}
