/**
 * From an instance's effective config to the Langflow tweaks the Runner applies
 * (`{<nodeId>: {<field>: value}}`), and the presigned artifact link the Runner downloads.
 *
 * Tweaks are keyed by node id, and node ids live in the flow export, so the gateway reads each
 * version's flow once: the presigned link from `getOfferingVersionArtifact` (cached until shortly
 * before it expires), the bytes downloaded and checked against the certified sha256 (the bytes
 * are used only when they match; on a mismatch no tweaks are derived and the Runner, the one
 * place that refuses and audits tampered artifacts, refuses the run), and the node list cached by
 * digest. What is mapped (never secrets: binding references only, which travel in `bindings`):
 *
 *   prompt_orchestrator.systemPrompt / temperature / topP / maxTokens / model → model nodes'
 *       system_message / temperature / top_p / max_tokens / model_name
 *   prompt_orchestrator.variables ⊕ the run's `variables` → Prompt nodes' template variables
 *       (a variable wired to an edge keeps the edge's value). Only a node's own prompt variables
 *       (its `custom_fields.template`, else the `{name}` placeholders of its template) are ever
 *       set: never `template`, `code` or any other component field. A run may send only the
 *       names declared in `prompt_orchestrator.variables` (checkRunVariables: 400 otherwise).
 *   rag_knowledgebase.knowledgeBaseIds / topK → retriever nodes' knowledge_base_id / top_k
 */
import { createHash } from 'node:crypto';
import type { ArtifactLink, Entitlements } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';
import { LANGFLOW_MODEL_TYPES, LOCAL_MODEL_TYPES } from '../runtime/builtin/chat-model';
import type { CallOptions, ControlPlaneClient } from './cp-client';
import type { HttpClient } from '../platform/service-client/http-json';

export type Tweaks = Record<string, Record<string, unknown>>;

export interface FlowNode {
  id: string;
  type: string;
  /** Prompt nodes: the names of their template variables. */
  variables?: string[];
}

/** Component fields a variable may never set, whatever it is called. */
const NEVER_SET = new Set(['template', 'code', '_type']);

/**
 * The run's `variables` must be declared by the instance's `prompt_orchestrator.variables`: a run
 * fills the publisher's placeholders, it never adds its own. 400 with the declared names.
 */
export function checkRunVariables(config: Entitlements['config'], variables: Record<string, string> | undefined): void {
  if (!variables) return;
  const declared = Object.keys(((config.prompt_orchestrator ?? {}) as { variables?: Record<string, string> }).variables ?? {});
  const unknown = Object.keys(variables).filter((name) => !declared.includes(name) || NEVER_SET.has(name));
  if (unknown.length) {
    throw new AppError('VALIDATION_FAILED', `Unknown variables: ${unknown.join(', ')}; this instance declares ${declared.length ? declared.join(', ') : 'none'}`, {
      errors: unknown.map((name) => ({ path: `/body/variables/${name}`, message: 'is not a variable declared by prompt_orchestrator.variables' })),
      declared,
    });
  }
}

const norm = (t: string) => t.toLowerCase().replace(/[\s_-]+/g, '');
/** The model components the built-in runtime runs (one list: the runtime's), by normalised type. */
const MODEL_TYPES = new Set([...LOCAL_MODEL_TYPES, ...LANGFLOW_MODEL_TYPES].map((t) => t.toLowerCase()));
const PROMPT_TYPES = new Set(['prompt', 'prompttemplate']);
const RETRIEVER_TYPES = new Set(['knowledgeretriever', 'retriever', 'knowledgebaseretriever', 'kbretriever', 'ragretriever', 'agentstoreretriever']);

const isModel = (type: string) => {
  const t = norm(type);
  // Langflow names some components with a suffix: `LanguageModelComponent`.
  return MODEL_TYPES.has(t) || /(model|llm)(component)?$/.test(t);
};

export function tweaksFor(nodes: readonly FlowNode[], config: Entitlements['config'], variables?: Record<string, string>): Tweaks {
  const po = (config.prompt_orchestrator ?? {}) as Record<string, unknown>;
  const rag = config.rag_knowledgebase as Record<string, unknown> | undefined;
  const vars = { ...((po.variables as Record<string, string> | undefined) ?? {}), ...(variables ?? {}) };
  const tweaks: Tweaks = {};
  const put = (id: string, field: string, value: unknown) => {
    if (value === undefined || value === null) return;
    (tweaks[id] ??= {})[field] = value;
  };
  for (const node of nodes) {
    const t = norm(node.type);
    if (PROMPT_TYPES.has(t)) {
      const own = new Set(node.variables ?? []);
      for (const [name, value] of Object.entries(vars)) if (own.has(name) && !NEVER_SET.has(name)) put(node.id, name, value);
    } else if (RETRIEVER_TYPES.has(t)) {
      if (rag) {
        const ids = rag.knowledgeBaseIds;
        if (Array.isArray(ids) && ids.length) put(node.id, 'knowledge_base_id', ids.join(','));
        put(node.id, 'top_k', rag.topK);
      }
    } else if (isModel(node.type)) {
      put(node.id, 'system_message', po.systemPrompt);
      put(node.id, 'temperature', po.temperature);
      put(node.id, 'top_p', po.topP);
      put(node.id, 'max_tokens', po.maxTokens);
      put(node.id, 'model_name', po.model);
    }
  }
  return tweaks;
}

/** The nodes of a Langflow export (`{data: {nodes: [{id, data: {type}}]}}`). */
export function flowNodes(bytes: Buffer): FlowNode[] {
  type Node = { id?: unknown; type?: unknown; data?: { type?: unknown; node?: { custom_fields?: { template?: unknown }; template?: { template?: { value?: unknown } } } } };
  const flow = JSON.parse(bytes.toString('utf8')) as { data?: { nodes?: Node[] } };
  const out: FlowNode[] = [];
  for (const n of flow.data?.nodes ?? []) {
    const type = typeof n.data?.type === 'string' ? n.data.type : typeof n.type === 'string' ? n.type : undefined;
    if (typeof n.id !== 'string' || !type) continue;
    const node: FlowNode = { id: n.id, type };
    if (PROMPT_TYPES.has(norm(type))) node.variables = promptVariables(n.data?.node);
    out.push(node);
  }
  return out;
}

/** A Langflow Prompt node's variables: `custom_fields.template`, else the `{name}` placeholders of its template. */
function promptVariables(node: { custom_fields?: { template?: unknown }; template?: { template?: { value?: unknown } } } | undefined): string[] {
  const declared = node?.custom_fields?.template;
  if (Array.isArray(declared)) return declared.filter((v): v is string => typeof v === 'string' && !NEVER_SET.has(v));
  const text = node?.template?.template?.value;
  if (typeof text !== 'string') return [];
  return [...new Set([...text.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!))].filter((v) => !NEVER_SET.has(v));
}

export interface PreparedArtifact {
  /** Presigned download URL (what the Runner fetches on a cache miss). */
  url: string;
  /**
   * Node list of the verified flow; undefined when the stored bytes do not match the certified
   * digest (no tweaks are derived from them; the Runner refuses the run and audits it).
   */
  nodes?: FlowNode[];
}

export interface FlowArtifacts {
  prepare(ent: Pick<Entitlements, 'offeringId' | 'versionId' | 'artifact'>, o: CallOptions): Promise<PreparedArtifact>;
}

/** Refresh a presigned link this long before it expires (the Runner may need it a minute later). */
const LINK_MARGIN_MS = 90_000;

export function createFlowArtifacts(opts: { cp: ControlPlaneClient; http: HttpClient; now?: () => number; maxFlows?: number }): FlowArtifacts {
  const now = opts.now ?? Date.now;
  const links = new Map<string, { link: ArtifactLink; refreshAt: number }>();
  const linkFlights = new Map<string, Promise<ArtifactLink>>();
  const flows = new Map<string, FlowNode[]>();
  const flowFlights = new Map<string, Promise<FlowNode[] | undefined>>();
  const maxFlows = opts.maxFlows ?? 256;

  async function link(offeringId: string, versionId: string, o: CallOptions): Promise<ArtifactLink> {
    const cached = links.get(versionId);
    if (cached && cached.refreshAt > now()) return cached.link;
    let flight = linkFlights.get(versionId);
    if (!flight) {
      flight = opts.cp
        .getArtifactLink(offeringId, versionId, { requestId: o.requestId })
        .then((l) => {
          const expires = Date.parse(l.expiresAt);
          links.set(versionId, { link: l, refreshAt: Number.isFinite(expires) ? Math.max(now(), expires - LINK_MARGIN_MS) : now() + 60_000 });
          if (links.size > maxFlows * 4) links.delete(links.keys().next().value as string);
          return l;
        })
        .finally(() => linkFlights.delete(versionId));
      linkFlights.set(versionId, flight);
    }
    return flight;
  }

  async function nodes(url: string, sha256: string, requestId: string): Promise<FlowNode[] | undefined> {
    const cached = flows.get(sha256);
    if (cached) return cached;
    let flight = flowFlights.get(sha256);
    if (!flight) {
      flight = (async () => {
        let res;
        try {
          res = await opts.http.request('GET', url, { headers: { 'x-request-id': requestId, accept: 'application/json' }, timeoutMs: 10_000, maxBytes: 10 * 1024 * 1024 });
        } catch (err) {
          throw new AppError('STORAGE_UNAVAILABLE', 'The flow artifact could not be read from object storage', { operation: 'artifact.get' }, { cause: err });
        }
        if (res.status !== 200) throw new AppError('STORAGE_UNAVAILABLE', 'The flow artifact could not be read from object storage', { operation: 'artifact.get', status: res.status });
        if (createHash('sha256').update(res.bytes).digest('hex') !== sha256) return undefined;
        let list: FlowNode[];
        try {
          list = flowNodes(res.bytes);
        } catch {
          return undefined; // not JSON although certified: the Runner answers for it
        }
        flows.set(sha256, list);
        if (flows.size > maxFlows) flows.delete(flows.keys().next().value as string);
        return list;
      })().finally(() => flowFlights.delete(sha256));
      flowFlights.set(sha256, flight);
    }
    return flight;
  }

  return {
    async prepare(ent, o) {
      const l = await link(ent.offeringId, ent.versionId, o);
      return { url: l.url, nodes: await nodes(l.url, ent.artifact.sha256, o.requestId) };
    },
  };
}
