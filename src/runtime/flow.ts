/**
 * Langflow flow exports: `{"id","name","description","endpoint_name","data":{"nodes":[…],"edges":[…]}}`.
 * A node is `{"id":"ChatInput-jFwUm","type":"genericNode","data":{"id","type":"ChatInput","node":{"template":{…},"outputs":[…]}}}`;
 * an edge names its ends in `data.sourceHandle` (`{id, name, …}`: the output) and
 * `data.targetHandle` (`{id, fieldName, …}`: the input field), or in the string handles
 * Langflow writes with `œ` in place of quotes.
 */
import { AppError } from '../platform/errors';

export interface FlowTemplateField {
  value?: unknown;
  [k: string]: unknown;
}

export interface FlowNode {
  id: string;
  type?: string;
  data: {
    id?: string;
    type?: string;
    node?: {
      template?: Record<string, FlowTemplateField | unknown>;
      outputs?: { name?: string; types?: string[] }[];
      display_name?: string;
      [k: string]: unknown;
    };
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface FlowEdge {
  id?: string;
  source: string;
  target: string;
  sourceHandle?: unknown;
  targetHandle?: unknown;
  data?: { sourceHandle?: { id?: string; name?: string }; targetHandle?: { id?: string; fieldName?: string } };
  [k: string]: unknown;
}

export interface FlowExport {
  id?: string;
  name?: string;
  description?: string;
  endpoint_name?: string;
  data: { nodes: FlowNode[]; edges: FlowEdge[]; [k: string]: unknown };
  [k: string]: unknown;
}

/** Node types Langflow uses for canvas decoration; they never run. */
const DECORATION_TYPES = new Set(['noteNode', 'note']);

const notAFlow = (reason: string) =>
  new AppError('UNPROCESSABLE', 'The artifact is not a Langflow flow export', { reason });

/** Parses the verified artifact bytes. Refuses anything that is not a flow export (422 UNPROCESSABLE). */
export function parseFlowExport(bytes: Uint8Array): FlowExport {
  let doc: any;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw notAFlow('not valid JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw notAFlow('not a JSON object');
  // Some tools export the bare graph ({nodes, edges}); Langflow wraps it in `data`.
  const data = doc.data && typeof doc.data === 'object' ? doc.data : Array.isArray(doc.nodes) ? doc : undefined;
  if (!data || !Array.isArray(data.nodes)) throw notAFlow('missing data.nodes');
  const edges = data.edges ?? [];
  if (!Array.isArray(edges)) throw notAFlow('data.edges is not an array');
  const ids = new Set<string>();
  for (const [i, n] of data.nodes.entries()) {
    if (!n || typeof n !== 'object' || typeof n.id !== 'string' || !n.id) throw notAFlow(`node ${i} has no id`);
    if (ids.has(n.id)) throw notAFlow(`duplicate node id ${n.id}`);
    ids.add(n.id);
    if (!n.data || typeof n.data !== 'object') n.data = {};
  }
  for (const [i, e] of edges.entries()) {
    if (!e || typeof e !== 'object' || typeof e.source !== 'string' || typeof e.target !== 'string') throw notAFlow(`edge ${i} has no source/target`);
  }
  return { ...doc, data: { ...data, nodes: data.nodes, edges } } as FlowExport;
}

/** The component type Langflow runs (`data.type`, e.g. `ChatInput`). */
export function nodeType(node: FlowNode): string {
  return String(node.data?.type ?? node.type ?? '');
}

export function isDecoration(node: FlowNode): boolean {
  return DECORATION_TYPES.has(String(node.type)) || DECORATION_TYPES.has(nodeType(node));
}

/** A template field's configured value (`template.<field>.value`), or undefined. */
export function templateValue(node: FlowNode, field: string): unknown {
  const f = node.data?.node?.template?.[field];
  if (f && typeof f === 'object' && !Array.isArray(f)) return (f as FlowTemplateField).value;
  return undefined;
}

/** Langflow writes handles as JSON with `œ` for quotes; the `data` copy is already an object. */
function handle(raw: unknown): Record<string, unknown> | undefined {
  if (raw && typeof raw === 'object') return raw as Record<string, unknown>;
  if (typeof raw !== 'string' || !raw.startsWith('{')) return undefined;
  try {
    return JSON.parse(raw.replaceAll('œ', '"'));
  } catch {
    return undefined;
  }
}

/** The input field an edge feeds (`targetHandle.fieldName`), defaulting to `input_value`. */
export function edgeTargetField(edge: FlowEdge): string {
  const h = handle(edge.data?.targetHandle) ?? handle(edge.targetHandle);
  const name = h?.fieldName ?? h?.name;
  return typeof name === 'string' && name ? name : 'input_value';
}

/** The output an edge reads (`sourceHandle.name`), when named. */
export function edgeSourceOutput(edge: FlowEdge): string | undefined {
  const h = handle(edge.data?.sourceHandle) ?? handle(edge.sourceHandle);
  return typeof h?.name === 'string' && h.name ? h.name : undefined;
}
