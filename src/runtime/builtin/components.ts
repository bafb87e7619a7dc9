/**
 * The components the built-in runtime evaluates, keyed by their Langflow type name
 * (`data.type` in a flow export), with the aliases each also answers to. Anything else is
 * refused before the run starts (UNSUPPORTED_COMPONENT). The model node is in ./chat-model.ts,
 * tools offered to it in ./tool-offers.ts, what components share in ./context.ts.
 */
import { AppError } from '../../platform/errors';
import type { KnowledgeChunk } from '../types';
import { chatModel, LANGFLOW_MODEL_TYPES } from './chat-model';
import { mcpServerOf, mcpText, resolveBinding } from './tool-offers';
import { abortable, asText, field, fillTemplate, firstField, lineage, param, stringList, type Component } from './context';

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

function fillArguments(v: unknown, input: string, depth = 0): unknown {
  if (depth > 16) return v;
  if (typeof v === 'string') return fillTemplate(v, (n) => (n === 'input' || n === 'input_value' ? input : `{${n}}`));
  if (Array.isArray(v)) return v.map((x) => fillArguments(x, input, depth + 1));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillArguments(x, input, depth + 1)]));
  return v;
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
  chatModel,
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

/** What an UNSUPPORTED_COMPONENT error offers instead: each component's name, and the model node's Langflow names. */
export const SUPPORTED_TYPES = COMPONENTS.flatMap((c) => (c.model ? ['LocalModel', ...LANGFLOW_MODEL_TYPES] : [c.type]));
