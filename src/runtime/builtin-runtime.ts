/**
 * The embedded runtime: executes a Langflow flow export in-process, so the whole run path works
 * locally with real artifacts. Before anything runs, every node must be a supported component
 * (else 422 UNSUPPORTED_COMPONENT naming it), every edge must join known nodes, the graph must be
 * acyclic and end in a Chat Output or Text Output (else 422 UNPROCESSABLE). Then the nodes that
 * feed the outputs are evaluated in topological order (ties broken by the export's node order),
 * each reading the values on its incoming edges and its template settings with tweaks applied.
 */
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import { componentFor, SUPPORTED_TYPES } from './builtin/components';
import { abortable, type Component, type Usage, type Value } from './builtin/context';
import { deadline } from './deadline';
import { edgeTargetField, isDecoration, nodeType, templateValue, type FlowExport, type FlowNode } from './flow';
import type { ModelProviders } from './model/providers';
import type { KnowledgeRetriever, RunInput, RunOutput, Runtime, ToolInvoker, Tweaks } from './types';

export interface BuiltinRuntimeOptions {
  retriever?: KnowledgeRetriever;
  toolInvoker?: ToolInvoker;
  /** The platform's model providers; without them model nodes run on the deterministic offline model. */
  models?: ModelProviders;
  log?: Logger;
}

/** A flow checked and ordered for execution. */
export interface PlannedFlow {
  /** Nodes to evaluate, in order (only those that feed an output). */
  order: { node: FlowNode; component: Component }[];
  /** Incoming edges per node id: [source node id, target field]. */
  incoming: Map<string, { source: string; field: string }[]>;
  outputs: string[];
  /** The output node whose text is the run's answer (the last Chat Output, else the last Text Output). */
  answer: string;
  /** The model node wired straight into the answer's output: its text is streamed as it comes. */
  streamNode?: string;
  /** ToolCall nodes offered to each model node (by model node id). */
  toolOffers: Map<string, FlowNode[]>;
}

/** Template values of a node with its tweaks applied (a tweak replaces the field's value). */
export function nodeParams(node: FlowNode, tweaks: Tweaks): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const name of Object.keys(node.data?.node?.template ?? {})) {
    if (name.startsWith('_')) continue;
    params[name] = templateValue(node, name);
  }
  return { ...params, ...(tweaks[node.id] ?? {}) };
}

/**
 * Checks a flow against the built-in runtime and orders it. Throws UNSUPPORTED_COMPONENT
 * (naming every unsupported node) or UNPROCESSABLE (dangling edge, cycle, no output).
 */
export function planFlow(flow: FlowExport, tweaks: Tweaks = {}, bindings: RunInput['bindings'] = []): PlannedFlow {
  const nodes = flow.data.nodes.filter((n) => !isDecoration(n));
  const unsupported = nodes.filter((n) => !componentFor(nodeType(n))).map((n) => ({ nodeId: n.id, type: nodeType(n) || '(none)' }));
  if (unsupported.length) {
    const [first] = unsupported;
    throw new AppError('UNSUPPORTED_COMPONENT', `Component "${first.type}" (node ${first.nodeId}) is not supported by the built-in runtime`, {
      nodeId: first.nodeId,
      type: first.type,
      unsupported,
      supported: SUPPORTED_TYPES,
    });
  }
  const byId = new Map(nodes.map((n, i) => [n.id, { node: n, index: i, component: componentFor(nodeType(n))! }]));
  const incoming = new Map<string, { source: string; field: string }[]>();
  const outgoing = new Map<string, string[]>();
  for (const e of flow.data.edges) {
    if (!byId.has(e.source) || !byId.has(e.target)) {
      throw new AppError('UNPROCESSABLE', 'The flow has an edge to a node it does not contain', { source: e.source, target: e.target });
    }
    (incoming.get(e.target) ?? incoming.set(e.target, []).get(e.target)!).push({ source: e.source, field: edgeTargetField(e) });
    (outgoing.get(e.source) ?? outgoing.set(e.source, []).get(e.source)!).push(e.target);
  }

  // Kahn's algorithm; among ready nodes the one earliest in the export runs first.
  const indegree = new Map(nodes.map((n) => [n.id, (incoming.get(n.id) ?? []).length]));
  const ready = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const ordered: string[] = [];
  while (ready.length) {
    ready.sort((a, b) => byId.get(a)!.index - byId.get(b)!.index);
    const id = ready.shift()!;
    ordered.push(id);
    for (const t of outgoing.get(id) ?? []) {
      indegree.set(t, indegree.get(t)! - 1);
      if (indegree.get(t) === 0) ready.push(t);
    }
  }
  if (ordered.length < nodes.length) {
    const cycle = findCycle(nodes.map((n) => n.id).filter((id) => indegree.get(id)! > 0), outgoing);
    throw new AppError('UNPROCESSABLE', `The flow has a cycle (${cycle.join(' → ')}); the built-in runtime runs acyclic flows only`, { reason: 'cycle', nodes: cycle });
  }

  const outputs = ordered.filter((id) => byId.get(id)!.component.role);
  if (!outputs.length) {
    throw new AppError('UNPROCESSABLE', 'The flow has no Chat Output or Text Output component, so a run would answer nothing', { reason: 'no_output' });
  }
  // A ToolCall node wired into a model node's `tools` input is offered to that model, not run.
  const isOffer = (source: string, field: string, target: string) =>
    field === 'tools' && byId.get(source)!.component.type === 'ToolCall' && !!byId.get(target)!.component.model;
  const toolOffers = new Map<string, FlowNode[]>();
  // Only what feeds an output runs (a dangling tool node must not call anything).
  const needed = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    for (const i of incoming.get(id) ?? []) {
      if (isOffer(i.source, i.field, id)) {
        const list = toolOffers.get(id) ?? toolOffers.set(id, []).get(id)!;
        if (!list.includes(byId.get(i.source)!.node)) list.push(byId.get(i.source)!.node);
      } else stack.push(i.source);
    }
  }
  const order = ordered.filter((id) => needed.has(id)).map((id) => byId.get(id)!);
  for (const { node, component } of order) component.validate?.(node, nodeParams(node, tweaks), { bindings });
  for (const offered of toolOffers.values()) for (const node of offered) byId.get(node.id)!.component.validate?.(node, nodeParams(node, tweaks), { bindings });
  const lastOf = (role: Component['role']) => [...order].reverse().find((o) => o.component.role === role)?.node.id;
  const answer = lastOf('chat-output') ?? lastOf('text-output')!;
  const feeding = incoming.get(answer) ?? [];
  const streamNode = feeding.length === 1 && byId.get(feeding[0].source)?.component.model ? feeding[0].source : undefined;
  return { order: order.map(({ node, component }) => ({ node, component })), incoming, outputs, answer, toolOffers, ...(streamNode ? { streamNode } : {}) };
}

/** One cycle among the nodes left over by Kahn's algorithm, for the error message. */
function findCycle(left: string[], outgoing: Map<string, string[]>): string[] {
  const inLeft = new Set(left);
  const path: string[] = [];
  const onPath = new Set<string>();
  const done = new Set<string>();
  const visit = (id: string): string[] | undefined => {
    if (onPath.has(id)) return [...path.slice(path.indexOf(id)), id];
    if (done.has(id)) return undefined;
    path.push(id);
    onPath.add(id);
    for (const t of outgoing.get(id) ?? []) {
      if (!inLeft.has(t)) continue;
      const c = visit(t);
      if (c) return c;
    }
    path.pop();
    onPath.delete(id);
    done.add(id);
    return undefined;
  };
  for (const id of left) {
    const c = visit(id);
    if (c) return c;
  }
  return left;
}

export class BuiltinRuntime implements Runtime {
  readonly name = 'builtin' as const;
  readonly version = '1.0.0';

  constructor(private readonly opts: BuiltinRuntimeOptions = {}) {}

  async run(input: RunInput): Promise<RunOutput> {
    const tweaks = input.tweaks ?? {};
    const plan = planFlow(input.flow, tweaks, input.bindings);
    const dl = deadline(input.signal, input.timeoutMs, 'builtin-runtime');
    const deadlineAt = Date.now() + input.timeoutMs;
    // The caller's progress record is filled in place, so it still holds the usage if the run fails.
    const usage: Usage = Object.assign(input.progress?.usage ?? {}, { tokens_in: 0, tokens_out: 0, tool_calls: 0, retrievals: 0, runs: 1 });
    const streamTo = input.progress?.delta;
    const values = new Map<string, Value>();
    try {
      for (const { node, component } of plan.order) {
        if (dl.signal.aborted) throw dl.error('The run');
        const inputs = new Map<string, Value[]>();
        for (const { source, field } of plan.incoming.get(node.id) ?? []) {
          const v = values.get(source);
          if (v) (inputs.get(field) ?? inputs.set(field, []).get(field)!).push(v);
        }
        const offers = plan.toolOffers.get(node.id);
        const value = await abortable(
          component.evaluate({
            node,
            params: nodeParams(node, tweaks),
            inputs,
            run: input,
            usage,
            signal: dl.signal,
            deadlineAt,
            retriever: this.opts.retriever,
            toolInvoker: this.opts.toolInvoker,
            models: this.opts.models,
            ...(streamTo && node.id === plan.streamNode ? { stream: streamTo } : {}),
            ...(offers?.length ? { tools: offers.map((n) => ({ node: n, params: nodeParams(n, tweaks) })) } : {}),
          }),
          dl.signal,
        );
        values.set(node.id, value);
      }
    } catch (err) {
      if (dl.signal.aborted) throw dl.error('The run');
      throw err;
    } finally {
      dl.dispose();
    }
    const answer = values.get(plan.answer)!;
    const sources = dedupeSources(answer.sources ?? []);
    this.opts.log?.debug({ flowId: input.flowId, nodes: plan.order.length, usage }, 'builtin run finished');
    return {
      output: { text: answer.text, ...(sources.length ? { sources } : {}) },
      usage: { ...usage },
      runtime: 'builtin',
      version: this.version,
      attempts: 1,
      sessionId: input.sessionId,
    };
  }
}

function dedupeSources(chunks: NonNullable<Value['sources']>) {
  const seen = new Set<string>();
  const out: { title: string; id?: string; knowledgeBaseId?: string; documentId?: string }[] = [];
  for (const c of chunks) {
    const key = c.id ?? `${c.knowledgeBaseId ?? ''}:${c.documentId ?? ''}:${c.title}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ title: c.title, ...(c.id ? { id: c.id } : {}), ...(c.knowledgeBaseId ? { knowledgeBaseId: c.knowledgeBaseId } : {}), ...(c.documentId ? { documentId: c.documentId } : {}) });
  }
  return out;
}
