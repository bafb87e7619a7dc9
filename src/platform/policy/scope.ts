/**
 * `x-scope` (next to `x-roles` in the specs): the resource an operation acts on and where its id
 * is read. `{kind: instance, from: path.instanceId}`; a list means the first entry whose value the
 * request carries; `via` (a body/query field naming the run's instance) adds that instance to the
 * policy's context (service callers must send it: they act for a run); `self` (a field naming a
 user) tells the policy whether callers act on themselves (`context.self`: a member leaving). Kinds without `from` name no tenant resource:
 * - `catalog`: the store's catalog (offerings, versions, capabilities, connectors);
 * - `platform`: service-to-service calls and webhooks;
 * - `caller`: what a caller does for themselves (their own workspaces, lists filtered to their orgs).
 */

/** The kinds of tenant resource a request can name, each resolved to its org/project by the service. */
export const TENANT_KINDS = ['org', 'project', 'instance', 'run', 'wallet', 'reservation', 'knowledgeBase', 'ingestion', 'connectorBinding'] as const;
export type TenantKind = (typeof TENANT_KINDS)[number];
export type ScopeKind = TenantKind | 'catalog' | 'platform' | 'caller';

/** The Cedar entity type a scope kind resolves to (policy/schema.cedarschema). */
export const RESOURCE_TYPE: Record<ScopeKind, 'Org' | 'Project' | 'Instance' | 'Wallet' | 'KnowledgeBase' | 'Catalog' | 'Platform'> = {
  org: 'Org',
  project: 'Project',
  instance: 'Instance',
  run: 'Instance',
  wallet: 'Wallet',
  reservation: 'Wallet',
  knowledgeBase: 'KnowledgeBase',
  ingestion: 'KnowledgeBase',
  connectorBinding: 'Project',
  catalog: 'Catalog',
  platform: 'Platform',
  caller: 'Platform',
};

/** What a 404 calls a resource of each tenant kind. */
export const KIND_LABEL: Record<TenantKind, string> = {
  org: 'Org',
  project: 'Project',
  instance: 'Instance',
  run: 'Run',
  wallet: 'Wallet',
  reservation: 'Reservation',
  knowledgeBase: 'Knowledge base',
  ingestion: 'Ingestion',
  connectorBinding: 'Connector binding',
};

export type FieldRef = { in: 'path' | 'query' | 'body'; name: string };

export interface ScopeEntry {
  kind: ScopeKind;
  from?: FieldRef;
  via?: FieldRef;
  self?: FieldRef;
}

export function isTenantKind(kind: ScopeKind): kind is TenantKind {
  return (TENANT_KINDS as readonly string[]).includes(kind);
}

function parseRef(value: unknown, where: string): FieldRef {
  const m = typeof value === 'string' ? /^(path|query|body)\.([A-Za-z][A-Za-z0-9_]*)$/.exec(value) : null;
  if (!m) throw new Error(`${where}: expected path.<name>, query.<name> or body.<name>, got ${JSON.stringify(value)}`);
  return { in: m[1] as FieldRef['in'], name: m[2]! };
}

/** The operation's `x-scope`, parsed and checked (throws naming the operation when malformed). */
export function parseScope(raw: unknown, operationId: string): ScopeEntry[] {
  if (raw === undefined) throw new Error(`${operationId}: x-scope is missing (every operation declares its resource scope)`);
  const list = Array.isArray(raw) ? raw : [raw];
  if (!list.length) throw new Error(`${operationId}: x-scope is empty`);
  return list.map((e: any, i) => {
    const where = `${operationId} x-scope[${i}]`;
    if (!e || typeof e !== 'object' || !(e.kind in RESOURCE_TYPE)) throw new Error(`${where}: unknown kind ${JSON.stringify(e?.kind)}`);
    const entry: ScopeEntry = { kind: e.kind };
    if (isTenantKind(e.kind)) entry.from = parseRef(e.from, where);
    else if (e.from !== undefined) throw new Error(`${where}: ${e.kind} takes no from`);
    if (e.via !== undefined) entry.via = parseRef(e.via, where);
    if (e.self !== undefined) entry.self = parseRef(e.self, where);
    return entry;
  });
}

/** The string the request carries at `ref`, if any. */
export function readRef(ref: FieldRef, request: { params?: unknown; query?: unknown; body?: unknown }): string | undefined {
  const source = ref.in === 'path' ? request.params : ref.in === 'query' ? request.query : request.body;
  const value = source && typeof source === 'object' ? (source as Record<string, unknown>)[ref.name] : undefined;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
