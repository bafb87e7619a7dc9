/**
 * The authorization decision: the Cedar policies of policy/ evaluated in-process
 * (@cedar-policy/cedar-wasm). Loaded and parsed once per process; one decision per request.
 * The entities of a request are built here from the caller and the resolved scope: the user's
 * role in the resource's org is attached as their parent Roles (that role and every role it is
 * in, from roles.json; only that org's role), the resource carries its project/org ancestry.
 */
import '../v8-flags';
import { readdirSync, readFileSync } from 'node:fs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { Caller } from '../http/handler-types';
import { LruCache } from '../lru-cache';
import { projectPath } from '../paths';
import { RESOURCE_TYPE, type ScopeKind } from './scope';

type Uid = { type: string; id: string };
type EntityJson = { uid: Uid; attrs: Record<string, unknown>; parents: Uid[] };

/** A resource as resolved from the request: its id and its place in the tenancy. */
export interface ResolvedScope {
  kind: ScopeKind;
  /** The id the request named (or a fixed id for catalog/platform/caller). */
  id: string;
  orgId?: string;
  projectId?: string;
  instanceId?: string;
  walletId?: string;
  /** The caller's org role in `orgId` (users who are members). */
  role?: string;
  /** The instance a `via` field named (the run's instance), with its project. */
  via?: { instanceId: string; projectId: string; orgId: string };
  /** Set when the operation declares `self`: whether the user it names is the caller. */
  self?: boolean;
}

export const POLICY_DIR = 'policy';
const POLICY_SET_ID = 'agent-store';

/** The policy files' text, in a stable order (file name). */
export function readPolicies(dir = projectPath(POLICY_DIR)): { file: string; text: string }[] {
  return readdirSync(dir).filter((f) => f.endsWith('.cedar')).sort().map((file) => ({ file, text: readFileSync(`${dir}/${file}`, 'utf8') }));
}

/** The role ladder (Role entities and their hierarchy). */
export function readRoleEntities(dir = projectPath(POLICY_DIR)): EntityJson[] {
  return JSON.parse(readFileSync(`${dir}/roles.json`, 'utf8')) as EntityJson[];
}

interface Loaded {
  /** Each role with every role it is in (roles.json's hierarchy, walked once). */
  ladder: Map<string, Uid[]>;
  /** The preparsed policy set that can apply to each action (others: ALL_ACTIONS). */
  setOf: Map<string, string>;
}
let loaded: Loaded | undefined;
const ALL_ACTIONS = `${POLICY_SET_ID}:*`;

/**
 * Parses the policies once and files each under the actions it names: evaluating only the
 * policies that can apply to the request's action costs a fraction of the whole set (the engine
 * walks every policy of the set it is given). Policies without an action constraint go in every
 * set. The decision is the same as the whole set's.
 */
function load(): Loaded {
  if (loaded) return loaded;
  const text = readPolicies().map((p) => p.text).join('\n');
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error(`policy/: ${parts.errors.map((e) => e.message).join('; ')}`);
  const byAction = new Map<string, string[]>();
  const everywhere: string[] = [];
  for (const policy of parts.policies) {
    const json = cedar.policyToJson(policy);
    if (json.type !== 'success') throw new Error(`policy/: ${json.errors.map((e) => e.message).join('; ')}`);
    const a = json.json.action;
    const ids = a.op === '==' && 'entity' in a ? [a.entity] : a.op === 'in' && 'entities' in a ? a.entities : a.op === 'in' && 'entity' in a ? [a.entity] : undefined;
    if (!ids) {
      everywhere.push(policy);
      continue;
    }
    for (const uid of ids) {
      const id = ('__entity' in uid ? uid.__entity : uid).id;
      byAction.set(id, [...(byAction.get(id) ?? []), policy]);
    }
  }
  const setOf = new Map<string, string>();
  const preparse = (id: string, policies: string[]) => {
    const answer = cedar.preparsePolicySet(id, { staticPolicies: policies.join('\n') });
    if (answer.type !== 'success') throw new Error(`policy/: ${answer.errors.map((e) => e.message).join('; ')}`);
  };
  preparse(ALL_ACTIONS, everywhere);
  for (const [action, policies] of byAction) {
    preparse(`${POLICY_SET_ID}:${action}`, [...policies, ...everywhere]);
    setOf.set(action, `${POLICY_SET_ID}:${action}`);
  }
  loaded = { ladder: ladderOf(readRoleEntities()), setOf };
  return loaded;
}

/** Role → all the roles it is in, transitively: attached as the user's parents, no Role entities needed per request. */
function ladderOf(roles: EntityJson[]): Map<string, Uid[]> {
  const parents = new Map(roles.map((r) => [r.uid.id, r.parents.map((p) => p.id)]));
  const ladder = new Map<string, Uid[]>();
  for (const role of parents.keys()) {
    const seen = new Set<string>([role]);
    const queue = [role];
    while (queue.length) for (const p of parents.get(queue.shift()!) ?? []) if (!seen.has(p)) (seen.add(p), queue.push(p));
    ladder.set(role, [...seen].map((id) => ({ type: 'Role', id })));
  }
  return ladder;
}

const ent = (type: string, id: string): Uid => ({ type, id });
const ref = (type: string, id: string) => ({ __entity: { type, id } });

/** The caller as a Cedar principal entity (`role`: their role in the resource's org, if any). */
export function principalEntity(caller: Caller | undefined, role: string | undefined, ladder: Map<string, Uid[]> = load().ladder): EntityJson {
  if (!caller) return { uid: ent('Anonymous', 'anonymous'), attrs: {}, parents: [] };
  switch (caller.kind) {
    case 'user':
      return { uid: ent('User', caller.subject), attrs: { realmRoles: [...caller.roles] }, parents: role ? ladder.get(role) ?? [] : [] };
    case 'api_key':
      return {
        uid: ent('ApiKey', caller.keyId ?? caller.subject),
        attrs: { project: ref('Project', caller.projectId ?? ''), limited: !!caller.instanceIds?.length, instances: (caller.instanceIds ?? []).map((i) => ref('Instance', i)) },
        parents: [],
      };
    case 'widget':
      return { uid: ent('WidgetSession', caller.subject), attrs: {}, parents: [] };
    case 'service':
    case 'webhook':
      return { uid: ent('Service', caller.subject), attrs: { names: [...caller.roles].filter((r) => r.startsWith('svc:')).map((r) => r.slice(4)) }, parents: [] };
  }
}

/** The resource and its ancestors (project, org), plus the `via` instance. */
export function resourceEntities(scope: ResolvedScope): { uid: Uid; entities: EntityJson[] } {
  const out = new Map<string, EntityJson>();
  const add = (e: EntityJson) => out.set(`${e.uid.type}::${e.uid.id}`, e);
  const org = scope.orgId ? ent('Org', scope.orgId) : undefined;
  if (org) add({ uid: org, attrs: {}, parents: [] });
  const project = (projectId: string, orgId: string | undefined) => {
    add({ uid: ent('Project', projectId), attrs: {}, parents: orgId ? [ent('Org', orgId)] : [] });
    return ent('Project', projectId);
  };
  const type = RESOURCE_TYPE[scope.kind];
  let uid: Uid;
  switch (type) {
    case 'Org':
      uid = org!;
      break;
    case 'Project':
      uid = project(scope.projectId!, scope.orgId);
      break;
    case 'Instance':
      uid = ent('Instance', scope.instanceId!);
      add({ uid, attrs: { project: ref('Project', scope.projectId!) }, parents: [project(scope.projectId!, scope.orgId)] });
      break;
    case 'KnowledgeBase':
      uid = ent('KnowledgeBase', scope.id);
      add({ uid, attrs: { project: ref('Project', scope.projectId!) }, parents: [project(scope.projectId!, scope.orgId)] });
      break;
    case 'Wallet':
      uid = ent('Wallet', scope.walletId!);
      add({ uid, attrs: {}, parents: [...(scope.projectId ? [project(scope.projectId, scope.orgId)] : []), ...(org ? [org] : [])] });
      break;
    default:
      uid = ent(type, type === 'Catalog' ? 'store' : 'platform');
      add({ uid, attrs: {}, parents: [] });
  }
  if (scope.via) {
    const v = scope.via;
    add({ uid: ent('Instance', v.instanceId), attrs: { project: ref('Project', v.projectId) }, parents: [project(v.projectId, v.orgId)] });
  }
  return { uid, entities: [...out.values()] };
}

export interface Decision {
  allow: boolean;
  /** The ids (`@id`) of the policies that allowed it. */
  reasons: string[];
}

/**
 * Decisions already made, by their whole input. A Cedar decision is a pure function of the
 * policies (loaded once per process, never changed after) and the request — principal, action,
 * resource, context and entities — so an answer keyed by all of them is the answer the engine
 * would give again: nothing about it can go stale. The key is the request as the engine gets it
 * (a few hundred bytes of JSON); building it costs microseconds, the evaluation it saves
 * (entities serialised into WebAssembly and walked) a tenth of a millisecond or more, on every
 * request of every service. Bounded: the least recently used entry goes when it is full.
 */
const DECISION_CACHE_ENTRIES = 20_000;
const decisions = new LruCache<Decision>({ maxEntries: DECISION_CACHE_ENTRIES, maxSize: DECISION_CACHE_ENTRIES });

export const decisionCacheStats = { hits: 0, misses: 0 };

/** Evaluates the policies for one request. Errors in evaluation deny (and are reported). */
export function decide(caller: Caller | undefined, operationId: string, scope: ResolvedScope): Decision {
  const { ladder, setOf } = load();
  const principal = principalEntity(caller, scope.role, ladder);
  const resource = resourceEntities(scope);
  const entities = [principal, ...resource.entities.filter((e) => e.uid.type !== principal.uid.type || e.uid.id !== principal.uid.id)];
  const context = { ...(scope.via ? { via: ref('Instance', scope.via.instanceId) } : {}), ...(scope.self !== undefined ? { self: scope.self } : {}) };
  const key = JSON.stringify([operationId, resource.uid, context, entities]);
  const known = decisions.get(key);
  if (known) {
    decisionCacheStats.hits++;
    return known;
  }
  decisionCacheStats.misses++;
  const decision = evaluate(principal.uid, operationId, resource.uid, context, setOf, entities);
  decisions.set(key, decision, 1);
  return decision;
}

function evaluate(principal: Uid, operationId: string, resource: Uid, context: Record<string, unknown>, setOf: Map<string, string>, entities: EntityJson[]): Decision {
  const answer = cedar.statefulIsAuthorized({
    principal,
    action: { type: 'Action', id: operationId },
    resource,
    context: context as cedar.Context,
    preparsedPolicySetId: setOf.get(operationId) ?? ALL_ACTIONS,
    entities: entities as cedar.Entities,
  });
  if (answer.type !== 'success') throw new Error(`policy evaluation failed: ${answer.errors.map((e) => e.message).join('; ')}`);
  // Frozen: one decision object is shared by every request that gets it from the cache.
  return Object.freeze({ allow: answer.response.decision === 'allow', reasons: Object.freeze([...answer.response.diagnostics.reason]) as string[] });
}
