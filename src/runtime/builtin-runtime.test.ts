import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { AppError } from '../platform/errors';
import { deterministicReply } from './builtin/deterministic-model';
import { componentFor, SUPPORTED_TYPES } from './builtin/components';
import { BuiltinRuntime, planFlow } from './builtin-runtime';
import { parseFlowExport } from './flow';
import { basicFlow, flowEdge, flowExport, flowNode, ragFlow, runInput } from './testing';
import { countTokens } from './tokens';
import type { KnowledgeChunk, KnowledgeRetriever, RetrievalScope, ToolInvoker } from './types';

const isCode = (code: string, check?: (e: AppError) => void) => (e: unknown) => {
  assert.ok(e instanceof AppError, `expected AppError ${code}, got ${e}`);
  assert.equal(e.code, code, e.message);
  check?.(e);
  return true;
};

const CHUNKS: KnowledgeChunk[] = [
  { id: 'chk_1', title: 'Returns policy', content: 'You can return any item within 30 days of delivery. Items must be unused.', knowledgeBaseId: 'kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V' },
  { id: 'chk_2', title: 'Shipping FAQ', content: 'Return shipping is free for members.', knowledgeBaseId: 'kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V' },
];

function fakeRetriever(chunks = CHUNKS) {
  const calls: { query: string; scope: RetrievalScope }[] = [];
  const retriever: KnowledgeRetriever = {
    async retrieve(query, scope) {
      calls.push({ query, scope });
      return chunks;
    },
  };
  return { retriever, calls };
}

describe('countTokens (the documented deterministic tokenizer)', () => {
  test('words count ceil(length/4), symbols 1, whitespace 0', () => {
    assert.equal(countTokens(''), 0);
    assert.equal(countTokens('a'), 1);
    assert.equal(countTokens('return'), 2);
    assert.equal(countTokens('internationalization'), 5);
    assert.equal(countTokens('How long do I have to return an item?'), 1 + 1 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + 1);
    assert.equal(countTokens('  \n\t '), 0);
  });
});

describe('BuiltinRuntime', () => {
  test('ChatInput → Prompt → deterministic model → ChatOutput answers reproducibly and quotes the question', async () => {
    const rt = new BuiltinRuntime();
    const a = await rt.run(runInput(basicFlow()));
    const b = await rt.run(runInput(basicFlow()));
    assert.equal(a.output.text, b.output.text);
    assert.match(a.output.text, /"How long do I have to return an item\?"/);
    assert.match(a.output.text, /\[builtin-model ref [0-9a-f]{8}\]$/);
    assert.equal(a.runtime, 'builtin');
    assert.equal(a.attempts, 1);
    const prompt = 'You are a friendly support agent for ACME.\n\nQuestion: How long do I have to return an item?';
    assert.deepEqual(a.usage, { tokens_in: countTokens(prompt), tokens_out: countTokens(a.output.text), tool_calls: 0, retrievals: 0, runs: 1 });
    assert.equal(a.output.text, deterministicReply({ prompt, question: 'How long do I have to return an item?' }));
  });

  test('a different question or a tweaked template gives a different answer', async () => {
    const rt = new BuiltinRuntime();
    const base = await rt.run(runInput(basicFlow()));
    const other = await rt.run(runInput(basicFlow(), { input: { text: 'Do you ship to Canada?' } }));
    assert.notEqual(base.output.text, other.output.text);
    const tweaked = await rt.run(runInput(basicFlow(), { tweaks: { 'Prompt-a1B2c': { template: 'Reply in one line. {question}' } } }));
    assert.notEqual(tweaked.output.text, base.output.text);
    assert.equal(tweaked.usage.tokens_in, countTokens('Reply in one line. How long do I have to return an item?'));
  });

  test('model aliases and spaced Langflow names run the same components', async () => {
    const rt = new BuiltinRuntime();
    const canonical = await rt.run(runInput(basicFlow('DeterministicModel')));
    for (const alias of ['LocalModel', 'EchoModel', 'deterministic_model', 'FakeLLM']) {
      const r = await rt.run(runInput(basicFlow(alias)));
      assert.equal(r.output.text, canonical.output.text, alias);
    }
    assert.equal(componentFor('Chat Output')?.type, 'ChatOutput');
    assert.equal(componentFor('Retriever')?.type, 'KnowledgeRetriever');
    assert.equal(componentFor('OpenAIModel')?.type, 'ChatModel');
    assert.equal(componentFor('LanguageModelComponent')?.type, 'ChatModel');
    assert.deepEqual(SUPPORTED_TYPES, ['ChatInput', 'ChatOutput', 'TextInput', 'TextOutput', 'Prompt', 'LocalModel', 'OpenAIModel', 'ChatOpenAI', 'LanguageModelComponent', 'OllamaModel', 'LMStudioModel', 'KnowledgeRetriever', 'ParseData', 'ToolCall']);
  });

  test('the retriever asks the injected KnowledgeRetriever within the run\'s tenant scope; the answer cites the titles', async () => {
    const { retriever, calls } = fakeRetriever();
    const rt = new BuiltinRuntime({ retriever });
    const r = await rt.run(runInput(ragFlow(), { tweaks: { 'Retriever-k9Xy1': { knowledgeBaseIds: ['kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V'], topK: 6 } } }));
    assert.equal(calls.length, 1);
    assert.equal(calls[0].query, 'How long do I have to return an item?');
    assert.deepEqual({ ...calls[0].scope, signal: undefined }, {
      orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X', projectId: 'prj_01J9ZK4B2C3D4E5F6G7H8J9K0M', instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P', kbIds: ['kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V'], topK: 6, signal: undefined, requestId: 'req-test',
    });
    assert.match(r.output.text, /based on "Returns policy" and "Shipping FAQ": You can return any item within 30 days of delivery\./);
    assert.deepEqual(r.output.sources, [
      { title: 'Returns policy', id: 'chk_1', knowledgeBaseId: 'kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V' },
      { title: 'Shipping FAQ', id: 'chk_2', knowledgeBaseId: 'kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V' },
    ]);
    assert.equal(r.usage.retrievals, 1);
    // The context reached the model: its tokens are counted.
    const prompt = 'Be concise.\n\nAnswer from the context.\n\nContext:\n[1] Returns policy\nYou can return any item within 30 days of delivery. Items must be unused.\n\n[2] Shipping FAQ\nReturn shipping is free for members.\n\nQuestion: How long do I have to return an item?';
    assert.equal(r.usage.tokens_in, countTokens(prompt));
  });

  test('a retriever with no knowledge base attached answers without context and counts no retrieval', async () => {
    const { retriever, calls } = fakeRetriever();
    const r = await new BuiltinRuntime({ retriever }).run(runInput(ragFlow()));
    assert.equal(calls.length, 0);
    assert.equal(r.usage.retrievals, 0);
    assert.match(r.output.text, /no knowledge-base context/);
  });

  test('no KnowledgeRetriever injected → RAG_UNAVAILABLE naming the node', async () => {
    await assert.rejects(
      new BuiltinRuntime().run(runInput(ragFlow(), { tweaks: { 'Retriever-k9Xy1': { knowledgeBaseIds: ['kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V'] } } })),
      isCode('RAG_UNAVAILABLE', (e) => assert.equal(e.details?.nodeId, 'Retriever-k9Xy1')),
    );
  });

  test('an unsupported component is refused before anything runs, naming node and type', async () => {
    const { retriever, calls } = fakeRetriever();
    const flow = ragFlow();
    flow.data.nodes.push(flowNode('AnthropicModel-sz6xc', 'AnthropicModel', { model_name: 'claude-3-5-haiku' }));
    await assert.rejects(
      new BuiltinRuntime({ retriever }).run(runInput(flow, { tweaks: { 'Retriever-k9Xy1': { knowledgeBaseIds: ['kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V'] } } })),
      isCode('UNSUPPORTED_COMPONENT', (e) => {
        assert.equal(e.details?.nodeId, 'AnthropicModel-sz6xc');
        assert.equal(e.details?.type, 'AnthropicModel');
        assert.match(e.message, /AnthropicModel.*AnthropicModel-sz6xc/);
      }),
    );
    assert.equal(calls.length, 0);
  });

  test('Langflow note nodes are decoration and are ignored', async () => {
    const flow = basicFlow();
    flow.data.nodes.push({ id: 'note-1', type: 'noteNode', data: { type: 'note', node: { description: 'hello' } } } as any);
    const r = await new BuiltinRuntime().run(runInput(flow));
    assert.match(r.output.text, /return an item/);
  });

  test('a cycle is refused with the nodes on it', () => {
    const a = flowNode('Prompt-A', 'Prompt', { template: '{x}' }, ['prompt']);
    const b = flowNode('Prompt-B', 'Prompt', { template: '{y}' }, ['prompt']);
    const out = flowNode('ChatOutput-1', 'ChatOutput');
    const flow = flowExport([a, b, out], [flowEdge(a, b, 'y'), flowEdge(b, a, 'x'), flowEdge(b, out, 'input_value')]);
    assert.throws(() => planFlow(flow), isCode('UNPROCESSABLE', (e) => {
      assert.equal(e.details?.reason, 'cycle');
      assert.deepEqual(e.details?.nodes, ['Prompt-A', 'Prompt-B', 'Prompt-A']);
    }));
  });

  test('a flow without an output, or with a dangling edge, is refused', () => {
    const input = flowNode('ChatInput-1', 'ChatInput');
    assert.throws(() => planFlow(flowExport([input], [])), isCode('UNPROCESSABLE', (e) => assert.equal(e.details?.reason, 'no_output')));
    const out = flowNode('ChatOutput-1', 'ChatOutput');
    const ghost = flowNode('Ghost-1', 'ChatInput');
    assert.throws(() => planFlow(flowExport([input, out], [flowEdge(ghost, out, 'input_value')])), isCode('UNPROCESSABLE'));
  });

  test('prompt templates keep {{literal}} braces and fill variables from tweaks when unconnected', async () => {
    const input = flowNode('ChatInput-1', 'ChatInput');
    const prompt = flowNode('Prompt-1', 'Prompt', { template: 'JSON like {{"a": 1}} for {company}: {question}', company: 'ACME' }, ['prompt']);
    const out = flowNode('TextOutput-1', 'TextOutput');
    const flow = flowExport([input, prompt, out], [flowEdge(input, prompt, 'question'), flowEdge(prompt, out, 'input_value', 'prompt')]);
    const r = await new BuiltinRuntime().run(runInput(flow, { tweaks: { 'Prompt-1': { company: 'Globex' } } }));
    assert.equal(r.output.text, 'JSON like {"a": 1} for Globex: How long do I have to return an item?');
  });

  describe('ToolCall', () => {
    const bindings = [{ bindingId: 'bind_01J9ZK7H0J1K2M3N4P5Q6R7S8T', connectorId: 'generic_http', name: 'ACME orders API' }];
    function toolFlow(extra: Record<string, unknown> = {}) {
      const input = flowNode('ChatInput-1', 'ChatInput');
      const tool = flowNode('ToolCall-1', 'ToolCall', { tool: 'orders.lookup', connectorId: 'generic_http', arguments: { path: '/orders/{input}' }, ...extra }, ['result']);
      const prompt = flowNode('Prompt-1', 'Prompt', { template: 'Order data: {order}\nQuestion: {question}' }, ['prompt']);
      const model = flowNode('Model-1', 'LocalModel', {}, ['text_output']);
      const out = flowNode('ChatOutput-1', 'ChatOutput');
      return flowExport([input, tool, prompt, model, out], [
        flowEdge(input, tool, 'input_value'), flowEdge(tool, prompt, 'order', 'result'), flowEdge(input, prompt, 'question'),
        flowEdge(prompt, model, 'input_value', 'prompt'), flowEdge(model, out, 'input_value', 'text_output'),
      ]);
    }

    test('calls the injected ToolInvoker with the tool, the binding reference and the input', async () => {
      const calls: unknown[][] = [];
      const toolInvoker: ToolInvoker = { async invoke(tool, bindingId, input, ctx) { calls.push([tool, bindingId, input, ctx.scope.instanceId]); return { status: 'shipped', eta: '2026-05-24' }; } };
      const r = await new BuiltinRuntime({ toolInvoker }).run(runInput(toolFlow(), { bindings, input: { text: '12345' } }));
      assert.deepEqual(calls, [['orders.lookup', 'bind_01J9ZK7H0J1K2M3N4P5Q6R7S8T', { path: '/orders/12345', input: '12345' }, 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P']]);
      assert.equal(r.usage.tool_calls, 1);
      assert.match(r.output.text, /Checked with "orders\.lookup"/);
    });

    test('a binding the run does not carry is refused before anything runs', async () => {
      let called = false;
      const toolInvoker: ToolInvoker = { async invoke() { called = true; return 'x'; } };
      await assert.rejects(new BuiltinRuntime({ toolInvoker }).run(runInput(toolFlow(), { bindings: [] })), isCode('INVALID_CONFIG', (e) => assert.equal(e.details?.nodeId, 'ToolCall-1')));
      await assert.rejects(new BuiltinRuntime({ toolInvoker }).run(runInput(toolFlow({ bindingId: 'bind_OTHER0000000' }), { bindings })), isCode('INVALID_CONFIG'));
      assert.equal(called, false);
    });

    test('no ToolInvoker injected → DEPENDENCY_UNAVAILABLE naming the node', async () => {
      await assert.rejects(new BuiltinRuntime().run(runInput(toolFlow(), { bindings })), isCode('DEPENDENCY_UNAVAILABLE', (e) => assert.equal(e.details?.nodeId, 'ToolCall-1')));
    });

    test('a tool node that feeds no output is never called', async () => {
      let called = false;
      const toolInvoker: ToolInvoker = { async invoke() { called = true; return 'x'; } };
      const flow = basicFlow();
      flow.data.nodes.push(flowNode('ToolCall-9', 'ToolCall', { tool: 'orders.cancel' }));
      flow.data.edges.push(flowEdge(flow.data.nodes[0], flow.data.nodes[4], 'input_value'));
      const r = await new BuiltinRuntime({ toolInvoker }).run(runInput(flow, { bindings }));
      assert.equal(called, false);
      assert.equal(r.usage.tool_calls, 0);
    });
  });

  test('a retriever that hangs is cut off at timeoutMs → DEPENDENCY_TIMEOUT', async () => {
    const retriever: KnowledgeRetriever = { retrieve: () => new Promise(() => {}) };
    const started = Date.now();
    await assert.rejects(
      new BuiltinRuntime({ retriever }).run(runInput(ragFlow(), { timeoutMs: 150, tweaks: { 'Retriever-k9Xy1': { knowledgeBaseIds: ['kb_1'] } } })),
      isCode('DEPENDENCY_TIMEOUT'),
    );
    assert.ok(Date.now() - started < 2_000);
  });

  test('the caller\'s abort signal stops the run', async () => {
    const ac = new AbortController();
    const retriever: KnowledgeRetriever = { retrieve: () => { setTimeout(() => ac.abort(), 10); return new Promise(() => {}); } };
    await assert.rejects(
      new BuiltinRuntime({ retriever }).run(runInput(ragFlow(), { signal: ac.signal, tweaks: { 'Retriever-k9Xy1': { knowledgeBaseIds: ['kb_1'] } } })),
      isCode('RUNTIME_ERROR', (e) => assert.equal(e.details?.reason, 'cancelled')),
    );
  });
});

describe('the demo flows (demo/flows) on the built-in runtime', () => {
  const load = (name: string) => {
    const path = new URL(`../../demo/flows/${name}`, import.meta.url);
    return existsSync(path) ? parseFlowExport(readFileSync(path)) : undefined;
  };

  test('support-assistant: LocalModel with seed answers deterministically', async (t) => {
    const flow = load('support-assistant.json');
    if (!flow) return t.skip('demo/flows/support-assistant.json not present');
    const a = await new BuiltinRuntime().run(runInput(flow));
    const b = await new BuiltinRuntime().run(runInput(flow));
    assert.equal(a.output.text, b.output.text);
    assert.match(a.output.text, /"How long do I have to return an item\?"/);
    assert.ok(a.usage.tokens_in > 0 && a.usage.tokens_out > 0);
  });

  test('docs-knowledge-agent: KnowledgeBaseRetriever reads knowledge_base_id/top_k tweaks and the answer cites titles', async (t) => {
    const flow = load('docs-knowledge-agent.json');
    if (!flow) return t.skip('demo/flows/docs-knowledge-agent.json not present');
    const retrieverNode = flow.data.nodes.find((n) => /Retriever/.test(String(n.data.type)))!;
    const { retriever, calls } = fakeRetriever();
    const r = await new BuiltinRuntime({ retriever }).run(runInput(flow, { tweaks: { [retrieverNode.id]: { knowledge_base_id: 'kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V', top_k: 2 } } }));
    assert.deepEqual(calls[0].scope.kbIds, ['kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V']);
    assert.equal(calls[0].scope.topK, 2);
    assert.match(r.output.text, /"Returns policy"/);
    assert.equal(r.usage.retrievals, 1);
  });
});

test('the model honours its seed and max_tokens settings', async () => {
  const withSettings = (settings: Record<string, unknown>) => runInput(basicFlow(), { tweaks: { 'Model-q8Rt2': settings } });
  const rt = new BuiltinRuntime();
  const plain = await rt.run(withSettings({}));
  const seeded = await rt.run(withSettings({ seed: 42 }));
  assert.notEqual(seeded.output.text, plain.output.text);
  assert.equal((await rt.run(withSettings({ seed: 42 }))).output.text, seeded.output.text);
  const short = await rt.run(withSettings({ max_tokens: 8 }));
  assert.ok(short.usage.tokens_out <= 8, short.output.text);
  assert.ok(plain.output.text.startsWith(short.output.text));
});
