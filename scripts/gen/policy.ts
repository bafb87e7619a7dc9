/**
 * policy/ in the generator: the Cedar schema's actions come from the specs' operationIds (their
 * resource type from `x-scope`), appended to policy/schema.cedarschema's entity types and written
 * to generated/policy/schema.cedarschema. Then every policy of policy/ is validated against it
 * (strict), and the decision table of the specs (src/platform/policy/decision-table.ts) is run
 * through the runtime's authorization step over an in-memory tenancy: any cell the policies
 * decide differently fails gen and gen:check, naming the cell.
 */
import { readFileSync } from 'node:fs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { AppError } from '../../src/platform/errors';
import type { Caller } from '../../src/platform/http/handler-types';
import { authorize, type ResolvedRow, type ScopeResolver } from '../../src/platform/policy/authorize';
import { decisionTable, subjectName, type Cell, type Expected, type TableOperation } from '../../src/platform/policy/decision-table';
import { POLICY_DIR, readPolicies } from '../../src/platform/policy/engine';
import { RESOURCE_TYPE } from '../../src/platform/policy/scope';

const PRINCIPALS = 'User, ApiKey, WidgetSession, Service, Anonymous';

/** The whole schema: the hand-written entity types and one action per operation. */
export function renderCedarSchema(ops: TableOperation[]): string {
  const seen = new Map<string, string>();
  for (const op of ops) {
    const other = seen.get(op.operationId);
    if (other) throw new Error(`operationId ${op.operationId} is used by ${other} and ${op.service}: Cedar actions need unique names`);
    seen.set(op.operationId, op.service);
  }
  const entities = readFileSync(`${POLICY_DIR}/schema.cedarschema`, 'utf8');
  const actions = [...ops]
    .sort((a, b) => a.operationId.localeCompare(b.operationId))
    .map((op) => {
      const resources = [...new Set(op.scope.map((e) => RESOURCE_TYPE[e.kind]))].join(', ');
      return `// ${op.service}: ${op.method.toUpperCase()} ${op.path}\naction "${op.operationId}" appliesTo { principal: [${PRINCIPALS}], resource: [${resources}], context: { via?: Instance, self?: Bool } };`;
    });
  return `${entities.trimEnd()}\n\n// Actions: one per operationId of specs/*.openapi.yaml.\n${actions.join('\n')}\n`;
}

/** Strict validation of every policy against the schema; throws listing the errors. */
export function validatePolicies(schema: string): number {
  const policies = readPolicies();
  const answer = cedar.validate({ schema, policies: { staticPolicies: policies.map((p) => p.text).join('\n') }, validationSettings: { mode: 'strict' } });
  if (answer.type !== 'success') throw new Error(`policy/: ${answer.errors.map((e) => e.message).join('; ')}`);
  const problems = [...answer.validationErrors.map((e) => e.error.message), ...answer.validationWarnings.map((w) => w.error.message)];
  if (problems.length) throw new Error(`policy/ does not validate against the schema:\n  ${problems.join('\n  ')}`);
  return policies.length;
}

/** The tenancy the static check runs in: an own org (with a second instance) and a foreign org. */
const T = {
  own: { orgId: 'org_own', projectId: 'prj_own', instanceId: 'inst_own', walletId: 'wal_own' },
  foreign: { orgId: 'org_far', projectId: 'prj_far', instanceId: 'inst_far', walletId: 'wal_far' },
};

function staticResolver(members: Map<string, string>): ScopeResolver {
  return {
    async resolve(kind, id) {
      const t = id.endsWith('_far') ? T.foreign : T.own;
      const row: ResolvedRow = { orgId: t.orgId };
      if (kind === 'org') return row;
      row.projectId = t.projectId;
      if (kind === 'instance' || kind === 'run') row.instanceId = t.instanceId;
      if (kind === 'wallet' || kind === 'reservation') row.walletId = t.walletId;
      return row;
    },
    async roleOf(userId, orgId) {
      return orgId === T.own.orgId ? members.get(userId) : undefined;
    },
  };
}

function callerFor(cell: Cell): Caller | undefined {
  const s = cell.subject;
  switch (s.kind) {
    case 'member':
      return { kind: 'user', subject: `user-${s.role}`, roles: new Set(), scheme: 'bearerAuth' };
    case 'realm':
      return { kind: 'user', subject: `user-${s.role}-realm`, roles: new Set([s.role]), scheme: 'bearerAuth' };
    case 'api-key':
      return { kind: 'api_key', subject: 'key', keyId: 'key', orgId: T.own.orgId, projectId: T.own.projectId, instanceIds: s.limit === 'none' ? [] : s.limit === 'this-instance' ? [T.own.instanceId] : ['inst_other'], roles: new Set(), scheme: 'apiKeyAuth' };
    case 'widget':
      return { kind: 'widget', subject: 'wss', instanceId: T.own.instanceId, roles: new Set(), scheme: 'bearerAuth' };
    case 'service':
      return { kind: s.name === 'argocd' ? 'webhook' : 'service', subject: s.name, roles: new Set([`svc:${s.name}`]), scheme: 'bearerAuth' };
    default:
      return undefined;
  }
}

/** Runs one cell through the runtime's authorization step; the answer it got. */
export async function decideCell(cell: Cell): Promise<Expected> {
  const members = new Map<string, string>(['owner', 'admin', 'member', 'viewer', 'publisher-admin'].map((r) => [`user-${r}`, r]));
  const entry = cell.op.scope[0]!;
  const request: { params: Record<string, string>; query: Record<string, string>; body: Record<string, string> } = { params: {}, query: {}, body: {} };
  const t = cell.tenancy === 'own' ? T.own : T.foreign;
  if (entry.from) {
    const id = entry.kind === 'org' ? t.orgId : entry.kind === 'project' ? t.projectId : cell.tenancy === 'own' ? `${entry.kind}_own` : `${entry.kind}_far`;
    const target = entry.from.in === 'path' ? request.params : entry.from.in === 'query' ? request.query : request.body;
    target[entry.from.name] = id;
  }
  // The run's instance is always the own tenant's.
  if (entry.via) (entry.via.in === 'query' ? request.query : request.body)[entry.via.name] = T.own.instanceId;
  try {
    await authorize({ operationId: cell.op.operationId, scope: [entry], roles: cell.op.roles, caller: callerFor(cell), request, resolver: staticResolver(members), final: true });
    return 'allow';
  } catch (err) {
    if (err instanceof AppError && (err.status === 401 || err.status === 403 || err.status === 404)) return err.status;
    throw err;
  }
}

/** Checks every cell the policies decide (401 cells are the security schemes'); throws listing mismatches. */
export async function checkDecisionTable(ops: TableOperation[]): Promise<{ cells: number; checked: number }> {
  const cells = decisionTable(ops);
  const mismatches: string[] = [];
  let checked = 0;
  for (const cell of cells) {
    if (cell.expect === 401) continue;
    checked++;
    const got = await decideCell(cell);
    if (got !== cell.expect) mismatches.push(`${cell.op.operationId} × ${subjectName(cell.subject)} × ${cell.tenancy}: specs say ${cell.expect}, policy/ answers ${got}`);
  }
  if (mismatches.length) throw new Error(`policy/ disagrees with x-roles/x-scope on ${mismatches.length} of ${checked} cells:\n  ${mismatches.join('\n  ')}`);
  return { cells: cells.length, checked };
}
