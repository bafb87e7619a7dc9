/** The built-in runtime's ToolCall node calling an MCP tool (mcp_server) through the injected invoker. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../platform/errors';
import { BuiltinRuntime } from '../builtin-runtime';
import { flowEdge, flowExport, flowNode, runInput } from '../testing';
import type { ToolInvoker } from '../types';

function mcpFlow(server: unknown = 'crm') {
  const input = flowNode('ChatInput-1', 'ChatInput');
  const tool = flowNode('ToolCall-1', 'ToolCall', { mcp_server: server, tool: 'lookup_customer', arguments: { email: '{input}' } }, ['result']);
  const prompt = flowNode('Prompt-1', 'Prompt', { template: 'CRM: {crm}\nQuestion: {question}' }, ['prompt']);
  const model = flowNode('Model-1', 'LocalModel', {}, ['text_output']);
  const out = flowNode('ChatOutput-1', 'ChatOutput');
  return flowExport([input, tool, prompt, model, out], [
    flowEdge(input, tool, 'input_value'), flowEdge(tool, prompt, 'crm', 'result'), flowEdge(input, prompt, 'question'),
    flowEdge(prompt, model, 'input_value', 'prompt'), flowEdge(model, out, 'input_value', 'text_output'),
  ]);
}

describe('ToolCall with mcp_server', () => {
  test('calls the MCP tool with the configured arguments (no binding needed), passes its text on and counts mcp_calls, not tool_calls', async () => {
    const calls: unknown[][] = [];
    const toolInvoker: ToolInvoker = {
      async invoke() { throw new Error('not a connector tool'); },
      async callMcp(server, tool, args, ctx) {
        calls.push([server, tool, args, ctx.scope.runId]);
        return { content: [{ type: 'text', text: 'Customer ann@example.com: plan Pro' }], structuredContent: { plan: 'Pro' }, isError: false };
      },
    };
    const r = await new BuiltinRuntime({ toolInvoker }).run(runInput(mcpFlow(), { input: { text: 'ann@example.com' } }));
    assert.deepEqual(calls, [['crm', 'lookup_customer', { email: 'ann@example.com' }, 'run_01J9ZK6G9H0J1K2M3N4P5Q6R7S']]);
    assert.equal(r.usage.mcp_calls, 1);
    assert.equal(r.usage.tool_calls, 0);
    assert.match(r.output.text, /Checked with "lookup_customer"/);
  });

  test("Langflow's MCP Tools value ({name, config}) names the server too; the MCPTools type is accepted", async () => {
    const seen: string[] = [];
    const toolInvoker: ToolInvoker = { async invoke() { return {}; }, async callMcp(server) { seen.push(server); return { content: [], isError: false }; } };
    const flow = mcpFlow({ name: 'crm', config: { url: 'https://mcp.acme.example/mcp' } });
    flow.data.nodes[1]!.data.type = 'MCPTools';
    await new BuiltinRuntime({ toolInvoker }).run(runInput(flow));
    assert.deepEqual(seen, ['crm']);
  });

  test('an invoker without MCP support → DEPENDENCY_UNAVAILABLE naming the node; a refusal from the gateway fails the run with its code', async () => {
    const plain: ToolInvoker = { async invoke() { return {}; } };
    await assert.rejects(new BuiltinRuntime({ toolInvoker: plain }).run(runInput(mcpFlow())), (e: any) => e.code === 'DEPENDENCY_UNAVAILABLE' && e.details?.nodeId === 'ToolCall-1');
    const refusing: ToolInvoker = { async invoke() { return {}; }, async callMcp() { throw new AppError('POLICY_DENIED', 'not allowed', { reason: 'max_calls_per_run' }); } };
    await assert.rejects(new BuiltinRuntime({ toolInvoker: refusing }).run(runInput(mcpFlow())), (e: any) => e.code === 'POLICY_DENIED');
  });
});
