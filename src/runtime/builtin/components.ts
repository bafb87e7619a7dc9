/**
 * The components the built-in runtime evaluates, keyed by their Langflow type name
 * (`data.type` in a flow export), with the aliases each also answers to. Anything else is
 * refused before the run starts (UNSUPPORTED_COMPONENT).
 */
import { AppError } from '../../platform/errors';
import type { FlowNode } from '../flow';
import { countTokens } from '../tokens';
import type { BindingRef, KnowledgeChunk, KnowledgeRetriever, RunInput, ToolInvoker } from '../types';
import { deterministicReply } from './deterministic-model';

/** What flows along an edge: a message text plus where it came from. */
export interface Value {
  text: string;
  /** The user's question this value descends from (quoted by the model). */
  question?: string;
  /** Knowledge chunks this value was built from (cited by the model, returned as `sources`). */
  sources?: KnowledgeChunk[];
  /** Tools whose results this value carries. */
  tools?: string[];
  /** Structured payload (tool output), when there is one. */
  data?: unknown;
}

export interface Usage {
  tokens_in: number;
  tokens_out: number;
  tool_calls: number;
  /** MCP tool calls (the `mcp_tools` capability's metering dimension); absent until one is made. */
  mcp_calls?: number;
  retrievals: number;
  runs: number;
}

export interface EvalContext {
  node: FlowNode;
  /** Template values with the run's tweaks applied. */
  params: Record<string, unknown>;
  /** Values arriving on each input field, in edge order. */
  inputs: Map<string, Value[]>;
  run: RunInput;
  usage: Usage;
  signal: AbortSignal;
  retriever?: KnowledgeRetriever;
  toolInvoker?: ToolInvoker;
}

export interface Component {
  /** Canonical type name. */
  type: string;
  aliases: string[];
  /** Input and output nodes decide what the run answers. */
  role?: 'chat-output' | 'text-output';
  /** Static checks before anything runs (missing settings); throw AppError. */
  validate?(node: FlowNode, params: Record<string, unknown>, run: Pick<RunInput, 'bindings'>): void;
  evaluate(ctx: EvalContext): Promise<Value>;
}

// ───────────────────────────── helpers ─────────────────────────────

const asText = (v: unknown): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'object' && typeof (v as any).text === 'string' ? (v as any).text : JSON.stringify(v);

/** Joins the values on one input; undefined when nothing is connected there. */
function merged(values: Value[] | undefined): Value | undefined {
  if (!values?.length) return undefined;
  if (values.length === 1) return values[0];
  return {
    text: values.map((v) => v.text).join('\n'),
    question: values.find((v) => v.question)?.question,
    sources: values.flatMap((v) => v.sources ?? []),
    tools: values.flatMap((v) => v.tools ?? []),
  };
}

/** A field's value: what is connected to it, else its (tweaked) setting. */
function field(ctx: EvalContext, name: string): Value | undefined {
  const connected = merged(ctx.inputs.get(name));
  if (connected) return connected;
  const p = ctx.params[name];
  return p === undefined || p === null || p === '' ? undefined : { text: asText(p) };
}

function firstField(ctx: EvalContext, names: string[]): Value | undefined {
  for (const n of names) {
    const v = field(ctx, n);
    if (v) return v;
  }
  return undefined;
}

/** Provenance of everything connected to the node. */
function lineage(ctx: EvalContext): Pick<Value, 'question' | 'sources' | 'tools'> {
  const all = [...ctx.inputs.values()].flat();
  const sources = all.flatMap((v) => v.sources ?? []);
  const tools = all.flatMap((v) => v.tools ?? []);
  return {
    question: all.find((v) => v.question)?.question,
    ...(sources.length ? { sources } : {}),
    ...(tools.length ? { tools } : {}),
  };
}

function param(params: Record<string, unknown>, names: string[]): unknown {
  for (const n of names) if (params[n] !== undefined && params[n] !== null && params[n] !== '') return params[n];
  return undefined;
}

function stringList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String).filter(Boolean);
  if (typeof v === 'string') return v.split(/[,\s]+/).filter(Boolean);
  return [];
}

/** Awaits `p` but gives up as soon as `signal` aborts (a dependency that hangs cannot hold the run). */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  p.catch(() => undefined); // a late failure of an abandoned call is not an unhandled rejection
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/** Fills `{name}` placeholders (`{{`/`}}` are literal braces, as in Langflow's prompt templates). */
export function fillTemplate(template: string, lookup: (name: string) => string): string {
  return template.replace(/\{\{|\}\}|\{([^{}]+)\}/g, (m, name: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    return lookup(name!.trim());
  });
}

export function templateVariables(template: string): string[] {
  const out: string[] = [];
  for (const m of template.matchAll(/\{\{|\}\}|\{([^{}]+)\}/g)) if (m[1]) out.push(m[1].trim());
  return [...new Set(out)];
}

// ───────────────────────────── components ─────────────────────────────

const chatInput: Component = {
  type: 'ChatInput',
  aliases: ['Chat Input'],
  async evaluate(ctx) {
    // The run's input wins over the configured default, as in Langflow's run API.
    const text = ctx.run.input.text || asText(ctx.params.input_value);
    return { text, question: text };
  },
};

const textInput: Component = {
  type: 'TextInput',
  aliases: ['Text Input'],
  async evaluate(ctx) {
    return { text: asText(ctx.params.input_value) };
  },
};

const output = (type: string, aliases: string[], role: Component['role']): Component => ({
  type,
  aliases,
  role,
  async evaluate(ctx) {
    const v = field(ctx, 'input_value');
    return { text: v?.text ?? '', ...lineage(ctx) };
  },
});

const prompt: Component = {
  type: 'Prompt',
  aliases: ['PromptTemplate', 'Prompt Template'],
  async evaluate(ctx) {
    const template = asText(ctx.params.template);
    const text = fillTemplate(template, (name) => field(ctx, name)?.text ?? '');
    return { text, ...lineage(ctx) };
  },
};

const MODEL_TYPES = ['DeterministicModel', 'DeterministicLLM', 'LocalModel', 'LocalLLM', 'BuiltinModel', 'EchoModel', 'FakeModel', 'MockModel', 'FakeLLM'];

const deterministicModel: Component = {
  type: MODEL_TYPES[0],
  aliases: MODEL_TYPES.slice(1),
  async evaluate(ctx) {
    const input = firstField(ctx, ['input_value', 'prompt', 'input']);
    const system = firstField(ctx, ['system_message', 'system_prompt']);
    const sent = [system?.text, input?.text].filter((t) => t && t.trim()).join('\n\n');
    const from = lineage(ctx);
    const seed = ctx.params.seed;
    const maxTokens = Number(ctx.params.max_tokens ?? ctx.params.maxTokens);
    const text = deterministicReply({
      prompt: sent,
      question: from.question,
      sources: from.sources,
      tools: from.tools,
      ...(typeof seed === 'string' || typeof seed === 'number' ? { seed } : {}),
      ...(Number.isInteger(maxTokens) && maxTokens > 0 ? { maxTokens } : {}),
    });
    ctx.usage.tokens_in += countTokens(sent);
    ctx.usage.tokens_out += countTokens(text);
    return { text, ...from };
  },
};

const retriever: Component = {
  type: 'KnowledgeRetriever',
  aliases: ['Retriever', 'KnowledgeBaseRetriever', 'KBRetriever', 'RAGRetriever', 'AgentStoreRetriever'],
  async evaluate(ctx) {
    const nodeId = ctx.node.id;
    const query = firstField(ctx, ['search_query', 'query', 'input_value']);
    const kbIds = stringList(param(ctx.params, ['knowledgeBaseIds', 'knowledge_base_ids', 'kbIds', 'kb_ids', 'knowledgeBaseId', 'knowledge_base_id']));
    const rawTopK = Number(param(ctx.params, ['topK', 'top_k', 'number_of_results']) ?? 4);
    const topK = Math.min(50, Math.max(1, Number.isFinite(rawTopK) ? Math.floor(rawTopK) : 4));
    if (!query?.text.trim() || kbIds.length === 0) {
      // No knowledge base attached (or nothing to ask): the flow continues without context.
      return { text: '', question: query?.question };
    }
    if (!ctx.retriever) {
      throw new AppError('RAG_UNAVAILABLE', 'Knowledge-base retrieval is not available to the built-in runtime', { nodeId });
    }
    let chunks: KnowledgeChunk[];
    try {
      chunks = await abortable(
        ctx.retriever.retrieve(query.text, { orgId: ctx.run.scope.orgId, projectId: ctx.run.scope.projectId, instanceId: ctx.run.scope.instanceId, kbIds, topK, signal: ctx.signal, requestId: ctx.run.requestId }),
        ctx.signal,
      );
    } catch (err) {
      if (err instanceof AppError || ctx.signal.aborted) throw err;
      throw new AppError('RAG_UNAVAILABLE', 'Knowledge-base retrieval failed', { nodeId }, { cause: err });
    }
    ctx.usage.retrievals += 1;
    chunks = chunks.slice(0, topK);
    const text = chunks.map((c, i) => `[${i + 1}] ${c.title}\n${c.content}`).join('\n\n');
    return { text, question: query.question, sources: chunks, data: chunks };
  },
};

const parseData: Component = {
  type: 'ParseData',
  aliases: ['ParserComponent', 'Parser', 'Parse Data'],
  async evaluate(ctx) {
    const from = lineage(ctx);
    const template = asText(ctx.params.template) || '{text}';
    const sep = typeof ctx.params.sep === 'string' ? ctx.params.sep.replace(/\\n/g, '\n') : '\n';
    const chunks = from.sources ?? [];
    const text = chunks.length
      ? chunks.map((c) => fillTemplate(template, (n) => (n === 'text' || n === 'content' ? c.content : n === 'title' ? c.title : asText((c as any)[n])))).join(sep)
      : (firstField(ctx, ['data', 'input_data', 'input_value'])?.text ?? '');
    return { text, ...from };
  },
};

/** Which binding a ToolCall node uses: `bindingId`, else the run's binding for `connectorId`, else the only one. */
function resolveBinding(node: FlowNode, params: Record<string, unknown>, bindings: BindingRef[]): BindingRef {
  const bindingId = param(params, ['bindingId', 'binding_id']);
  const connectorId = param(params, ['connectorId', 'connector_id']);
  let found: BindingRef | undefined;
  if (typeof bindingId === 'string') found = bindings.find((b) => b.bindingId === bindingId);
  else if (typeof connectorId === 'string') found = bindings.find((b) => b.connectorId === connectorId);
  else if (bindings.length === 1) found = bindings[0];
  if (!found) {
    throw new AppError('INVALID_CONFIG', `Tool node ${node.id} has no connector binding in this run`, {
      nodeId: node.id,
      ...(typeof bindingId === 'string' ? { bindingId } : {}),
      ...(typeof connectorId === 'string' ? { connectorId } : {}),
      boundConnectors: bindings.map((b) => b.connectorId),
    });
  }
  return found;
}

function fillArguments(v: unknown, input: string, depth = 0): unknown {
  if (depth > 16) return v;
  if (typeof v === 'string') return fillTemplate(v, (n) => (n === 'input' || n === 'input_value' ? input : `{${n}}`));
  if (Array.isArray(v)) return v.map((x) => fillArguments(x, input, depth + 1));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillArguments(x, input, depth + 1)]));
  return v;
}

/**
 * The MCP server a tool node calls: `mcp_server` (a name, or Langflow's MCP Tools `{name, …}`
 * value) or `mcpServer`; undefined for a connector tool.
 */
function mcpServerOf(params: Record<string, unknown>): string | undefined {
  const v = param(params, ['mcp_server', 'mcpServer']);
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string') return (v as { name: string }).name;
  return undefined;
}

/** The text of an MCP result: its text blocks, else the whole result as JSON. */
function mcpText(r: { content: Record<string, unknown>[] }): string {
  const texts = r.content.filter((c) => c.type === 'text' && typeof c.text === 'string').map((c) => c.text as string);
  return texts.length ? texts.join('\n') : JSON.stringify(r);
}

/**
 * A connector tool (`tool` + a binding of the run) or, with `mcp_server`, a tool of one of the
 * instance's MCP servers (metered as `mcp_calls`); both through the Connector Gateway.
 */
const toolCall: Component = {
  type: 'ToolCall',
  aliases: ['ConnectorTool', 'ConnectorToolCall', 'AgentStoreTool', 'MCPTools', 'MCPToolsComponent', 'MCPTool'],
  validate(node, params, run) {
    if (typeof params.tool !== 'string' || !params.tool) {
      throw new AppError('INVALID_CONFIG', `Tool node ${node.id} does not name its tool`, { nodeId: node.id, field: 'tool' });
    }
    if (!mcpServerOf(params)) resolveBinding(node, params, run.bindings);
  },
  async evaluate(ctx) {
    const tool = String(ctx.params.tool);
    const server = mcpServerOf(ctx.params);
    const binding = server ? undefined : resolveBinding(ctx.node, ctx.params, ctx.run.bindings);
    if (!ctx.toolInvoker || (server && !ctx.toolInvoker.callMcp)) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', 'Tool calls are not available to the built-in runtime (no Connector Gateway client)', { nodeId: ctx.node.id, tool });
    }
    const incoming = firstField(ctx, ['input_value', 'input']);
    let args: Record<string, unknown> = {};
    const configured = typeof ctx.params.arguments === 'string' ? safeJson(ctx.params.arguments) : ctx.params.arguments;
    if (configured && typeof configured === 'object' && !Array.isArray(configured)) args = fillArguments(configured, incoming?.text ?? '') as Record<string, unknown>;
    const call = { scope: ctx.run.scope, signal: ctx.signal, requestId: ctx.run.requestId };
    const from = lineage(ctx);
    if (server) {
      // An MCP tool's arguments are its input schema's: only what the node configures is sent.
      const result = await abortable(ctx.toolInvoker.callMcp!(server, tool, args, call), ctx.signal);
      ctx.usage.mcp_calls = (ctx.usage.mcp_calls ?? 0) + 1;
      return { text: mcpText(result), data: result.structuredContent ?? result, question: from.question, sources: from.sources, tools: [...(from.tools ?? []), tool] };
    }
    if (incoming && !('input' in args)) args.input = incoming.text;
    const result = await abortable(ctx.toolInvoker.invoke(tool, binding!.bindingId, args, call), ctx.signal);
    ctx.usage.tool_calls += 1;
    return { text: asText(result), data: result, question: from.question, sources: from.sources, tools: [...(from.tools ?? []), tool] };
  },
};

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

export const COMPONENTS: Component[] = [
  chatInput,
  output('ChatOutput', ['Chat Output'], 'chat-output'),
  textInput,
  output('TextOutput', ['Text Output'], 'text-output'),
  prompt,
  deterministicModel,
  retriever,
  parseData,
  toolCall,
];

const normalize = (t: string) => t.toLowerCase().replace(/[\s_-]+/g, '');
const BY_NAME = new Map<string, Component>();
for (const c of COMPONENTS) for (const name of [c.type, ...c.aliases]) BY_NAME.set(normalize(name), c);

/** The component for a Langflow type name (case, spaces, `_` and `-` ignored), or undefined. */
export function componentFor(type: string): Component | undefined {
  return BY_NAME.get(normalize(type));
}

export const SUPPORTED_TYPES = COMPONENTS.map((c) => c.type);
