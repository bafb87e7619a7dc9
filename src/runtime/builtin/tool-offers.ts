/**
 * Tools a model node may call. A ToolCall node wired into a model node's `tools` input (as
 * Langflow wires tools into its Agent) is not run as a step: it is offered to the model as an
 * OpenAI function (`tools: [{type: "function", function: {name, description, parameters}}]`),
 * and each `tool_calls` entry the model answers with is executed through the Connector Gateway
 * (policy, Vault, retries by tool kind and audit live there) with the node's binding, its result
 * going back as a `role: "tool"` message.
 *
 * Node settings: `tool` (the connector tool, e.g. `orders.lookup`), `bindingId` / `connectorId`
 * (or `mcp_server`: a tool of one of the instance's MCP servers, metered as `mcp_calls`),
 * `description`, and `parameters` (a JSON Schema object, or its JSON text; default one string
 * `input`). Function names are the tool names with characters outside `[A-Za-z0-9_-]` turned into
 * `_` (OpenAI's rule), made unique per model node.
 */
import { AppError } from '../../platform/errors';
import type { FlowNode } from '../flow';
import type { ChatTool } from '../model/chat-wire';
import type { BindingRef } from '../types';
import { abortable, asText, param, type EvalContext } from './context';

/** Which binding a ToolCall node uses: `bindingId`, else the run's binding for `connectorId`, else the only one. */
export function resolveBinding(node: FlowNode, params: Record<string, unknown>, bindings: BindingRef[]): BindingRef {
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

/**
 * The MCP server a tool node calls: `mcp_server` (a name, or Langflow's MCP Tools `{name, …}`
 * value) or `mcpServer`; undefined for a connector tool.
 */
export function mcpServerOf(params: Record<string, unknown>): string | undefined {
  const v = param(params, ['mcp_server', 'mcpServer']);
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string') return (v as { name: string }).name;
  return undefined;
}

/** The text of an MCP result: its text blocks, else the whole result as JSON. */
export function mcpText(r: { content: Record<string, unknown>[] }): string {
  const texts = r.content.filter((c) => c.type === 'text' && typeof c.text === 'string').map((c) => c.text as string);
  return texts.length ? texts.join('\n') : JSON.stringify(r);
}

/** A ToolCall node offered to a model node, with its tweaked settings. */
export interface ToolOffer {
  node: FlowNode;
  params: Record<string, unknown>;
}

export interface OfferedTools {
  definitions: ChatTool[];
  /** Runs one of the model's tool calls; answers the text sent back to the model. */
  call(functionName: string, rawArguments: string): Promise<{ tool: string; content: string }>;
}

const DEFAULT_PARAMETERS = { type: 'object', properties: { input: { type: 'string', description: 'What to ask the tool.' } }, required: ['input'] };

function schemaOf(node: FlowNode, raw: unknown): Record<string, unknown> {
  let v = raw;
  if (typeof v === 'string' && v.trim()) {
    try {
      v = JSON.parse(v);
    } catch {
      throw new AppError('INVALID_CONFIG', `Tool node ${node.id} has parameters that are not JSON`, { nodeId: node.id, field: 'parameters' });
    }
  }
  if (v === undefined || v === null || v === '') return DEFAULT_PARAMETERS;
  if (typeof v !== 'object' || Array.isArray(v) || (v as { type?: unknown }).type !== 'object') {
    throw new AppError('INVALID_CONFIG', `Tool node ${node.id} parameters must be a JSON Schema object ({"type":"object",…})`, { nodeId: node.id, field: 'parameters' });
  }
  return v as Record<string, unknown>;
}

export function offerTools(offers: ToolOffer[], ctx: EvalContext): OfferedTools {
  const byName = new Map<string, { offer: ToolOffer; tool: string; bindingId?: string; server?: string }>();
  const definitions: ChatTool[] = [];
  for (const offer of offers) {
    const tool = String(offer.params.tool);
    const server = mcpServerOf(offer.params);
    const bindingId = server ? undefined : resolveBinding(offer.node, offer.params, ctx.run.bindings).bindingId;
    let name = tool.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60) || 'tool';
    for (let n = 2; byName.has(name); n++) name = `${name.slice(0, 58)}_${n}`;
    byName.set(name, { offer, tool, ...(bindingId ? { bindingId } : {}), ...(server ? { server } : {}) });
    const description = param(offer.params, ['description', 'tool_description']);
    definitions.push({
      type: 'function',
      function: { name, ...(typeof description === 'string' ? { description } : {}), parameters: schemaOf(offer.node, param(offer.params, ['parameters', 'args_schema'])) },
    });
  }
  return {
    definitions,
    async call(functionName, rawArguments) {
      const found = byName.get(functionName);
      if (!found) return { tool: functionName, content: JSON.stringify({ error: `No tool named ${functionName} is offered` }) };
      let args: unknown;
      try {
        args = rawArguments.trim() ? JSON.parse(rawArguments) : {};
      } catch {
        return { tool: found.tool, content: JSON.stringify({ error: 'The arguments were not valid JSON' }) };
      }
      if (!args || typeof args !== 'object' || Array.isArray(args)) return { tool: found.tool, content: JSON.stringify({ error: 'The arguments must be a JSON object' }) };
      if (!ctx.toolInvoker || (found.server && !ctx.toolInvoker.callMcp)) {
        throw new AppError('DEPENDENCY_UNAVAILABLE', 'Tool calls are not available to the built-in runtime (no Connector Gateway client)', { nodeId: found.offer.node.id, tool: found.tool });
      }
      const call = { scope: ctx.run.scope, signal: ctx.signal, requestId: ctx.run.requestId };
      if (found.server) {
        const mcp = await abortable(ctx.toolInvoker.callMcp!(found.server, found.tool, args as Record<string, unknown>, call), ctx.signal);
        ctx.usage.mcp_calls = (ctx.usage.mcp_calls ?? 0) + 1;
        return { tool: found.tool, content: mcpText(mcp) };
      }
      const result = await abortable(ctx.toolInvoker.invoke(found.tool, found.bindingId!, args as Record<string, unknown>, call), ctx.signal);
      ctx.usage.tool_calls += 1;
      return { tool: found.tool, content: typeof result === 'string' ? result : asText(result) };
    },
  };
}
