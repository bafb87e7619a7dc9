/**
 * Langflow flow exports: shape checks, secret detection, and the canonical bytes we store.
 *
 * Shape (Langflow's export format): `{id, name, description, endpoint_name, data: {nodes, edges,
 * viewport}}`; a node is `{id, type: "genericNode"|"noteNode", data: {id, type: <component>,
 * node: {template, outputs, display_name, …}}}`; an edge joins `source` → `target` node ids
 * (with `sourceHandle`/`targetHandle`). Tweak keys at run time are node ids, so node ids must be
 * unique.
 *
 * Secrets: a flow must never carry credentials (they live in Vault behind connector bindings).
 * A value is treated as a secret when a field whose name looks like a credential (`api_key`,
 * `openai_api_key`, `password`, `token`, `secret`, `client_secret`, `private_key`, …) or a
 * template field marked `password: true` holds a non-empty literal string. References are fine:
 * Langflow global variables (`load_from_db: true`, the value is the variable's name) and
 * `${ENV_NAME}` placeholders.
 *
 * Canonical bytes: JSON with object keys sorted at every depth and no whitespace (the same
 * canonical form the idempotency mechanism hashes), so the same flow always gets the same sha256
 * and artifact key, whatever key order or formatting the exporter used.
 */
import { createHash } from 'node:crypto';
import type { LangflowFlowExport } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';
import { canonicalJson } from '../platform/idempotency';

export interface FlowIssue {
  /** JSON pointer into the flow export. */
  path: string;
  message: string;
  nodeId?: string;
}

export interface FlowSecret {
  nodeId: string | null;
  field: string;
  path: string;
}

const SECRET_FIELD =
  /^(?:.*[_-])?(?:api[_-]?key|apikey|password|passwd|passphrase|secret|secret[_-]?key|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|auth[_-]?token|bearer[_-]?token|session[_-]?token|private[_-]?key|access[_-]?key|secret[_-]?access[_-]?key|credentials?)$/i;
const REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const esc = (s: string | number) => String(s).replace(/~/g, '~0').replace(/\//g, '~1');

/** Every shape problem of a flow export (empty when it is a well-formed Langflow export). */
export function flowIssues(flow: unknown): FlowIssue[] {
  const issues: FlowIssue[] = [];
  if (!isObject(flow)) return [{ path: '', message: 'must be a Langflow flow export object' }];
  const data = flow.data;
  if (!isObject(data)) return [{ path: '/data', message: 'must be an object with nodes and edges' }];
  if (!Array.isArray(data.nodes)) issues.push({ path: '/data/nodes', message: 'must be an array' });
  if (!Array.isArray(data.edges)) issues.push({ path: '/data/edges', message: 'must be an array' });
  if (issues.length) return issues;
  const nodes = data.nodes as unknown[];
  const edges = data.edges as unknown[];
  const ids = new Set<string>();
  const connectable = new Set<string>();
  nodes.forEach((node, i) => {
    const at = `/data/nodes/${i}`;
    if (!isObject(node)) return void issues.push({ path: at, message: 'must be an object' });
    const id = node.id;
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) return void issues.push({ path: `${at}/id`, message: 'must be a non-empty string of at most 200 characters' });
    if (ids.has(id)) issues.push({ path: `${at}/id`, message: `duplicates node id ${JSON.stringify(id)}`, nodeId: id });
    ids.add(id);
    if (node.type === 'noteNode') return; // sticky notes carry no component
    connectable.add(id);
    const d = node.data;
    if (!isObject(d)) return void issues.push({ path: `${at}/data`, message: 'must be an object describing the component', nodeId: id });
    if (typeof d.type !== 'string' || d.type.length === 0) issues.push({ path: `${at}/data/type`, message: 'must name the component type (e.g. ChatInput)', nodeId: id });
    if (d.id !== undefined && d.id !== id) issues.push({ path: `${at}/data/id`, message: `must equal the node id ${JSON.stringify(id)}`, nodeId: id });
    if (d.node !== undefined && !isObject(d.node)) issues.push({ path: `${at}/data/node`, message: 'must be an object (template, outputs, …)', nodeId: id });
    else if (isObject(d.node) && d.node.template !== undefined && !isObject(d.node.template)) {
      issues.push({ path: `${at}/data/node/template`, message: 'must be an object of fields', nodeId: id });
    }
  });
  if (connectable.size === 0 && issues.length === 0) issues.push({ path: '/data/nodes', message: 'must hold at least one component' });
  edges.forEach((edge, i) => {
    const at = `/data/edges/${i}`;
    if (!isObject(edge)) return void issues.push({ path: at, message: 'must be an object' });
    for (const end of ['source', 'target'] as const) {
      const ref = edge[end];
      if (typeof ref !== 'string' || ref.length === 0) issues.push({ path: `${at}/${end}`, message: 'must be a node id' });
      else if (!connectable.has(ref)) issues.push({ path: `${at}/${end}`, message: `refers to unknown node ${JSON.stringify(ref)}` });
    }
  });
  return issues;
}

/** Credential-looking literal values anywhere in the flow, with the node that holds them. */
export function findSecrets(flow: unknown): FlowSecret[] {
  const found: FlowSecret[] = [];
  const walk = (value: unknown, path: string, nodeId: string | null, depth: number): void => {
    if (depth > 64) return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}/${i}`, nodeId, depth + 1));
      return;
    }
    if (!isObject(value)) return;
    for (const [key, v] of Object.entries(value)) {
      const at = `${path}/${esc(key)}`;
      if (typeof v === 'string') {
        if (SECRET_FIELD.test(key) && isLiteral(v)) found.push({ nodeId, field: key, path: at });
        continue;
      }
      if (isObject(v) && 'value' in v && (SECRET_FIELD.test(key) || v.password === true)) {
        // A Langflow template field: {type, value, password, load_from_db, …}.
        if (typeof v.value === 'string' && isLiteral(v.value) && v.load_from_db !== true) {
          found.push({ nodeId, field: key, path: `${at}/value` });
        }
      }
      walk(v, at, nodeId, depth + 1);
    }
  };
  if (isObject(flow) && isObject(flow.data) && Array.isArray(flow.data.nodes)) {
    const { data, ...rest } = flow;
    walk(rest, '', null, 0);
    const { nodes, ...dataRest } = data as Record<string, unknown>;
    walk(dataRest, '/data', null, 1);
    (nodes as unknown[]).forEach((node, i) => {
      const id = isObject(node) && typeof node.id === 'string' ? node.id : null;
      walk(node, `/data/nodes/${i}`, id, 2);
    });
  } else {
    walk(flow, '', null, 0);
  }
  return found;
}

function isLiteral(value: string): boolean {
  const v = value.trim();
  return v.length > 0 && !REFERENCE.test(v);
}

/** Refuses a malformed export (422 UNPROCESSABLE with every issue) or one carrying secrets (422, naming the node). */
export function assertPublishableFlow(flow: unknown): void {
  const issues = flowIssues(flow);
  if (issues.length) {
    throw new AppError('UNPROCESSABLE', 'The flow is not a valid Langflow flow export', { issues });
  }
  const secrets = findSecrets(flow);
  if (secrets.length) {
    const first = secrets[0]!;
    throw new AppError(
      'UNPROCESSABLE',
      `The flow contains a credential-looking value in ${first.nodeId ? `node ${first.nodeId}` : 'the flow'} (field ${first.field}); ` +
        'reference credentials through connector bindings or Langflow global variables instead of embedding them',
      { nodeId: first.nodeId, field: first.field, path: first.path, secrets: secrets.map(({ nodeId, field, path }) => ({ nodeId, field, path })) },
    );
  }
}

export interface CanonicalFlow {
  bytes: Buffer;
  sha256: string;
  /** The id the runtime runs it by: the flow id, else its endpoint name, else derived from the hash. */
  flowId: string;
}

export function canonicalFlow(flow: LangflowFlowExport): CanonicalFlow {
  const bytes = Buffer.from(canonicalJson(flow), 'utf8');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const flowId =
    (typeof flow.id === 'string' && flow.id) || (typeof flow.endpoint_name === 'string' && flow.endpoint_name) || `flow-${sha256.slice(0, 16)}`;
  return { bytes, sha256, flowId };
}

export const artifactKey = (sha256: string) => `artifacts/sha256/${sha256}.json`;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
