/**
 * The built-in runtime's model node against a local OpenAI-compatible server
 * (test/support/fake-openai.ts): which provider and model answer, what is sent (system message,
 * history, prompt, max_tokens), whose token counts are reported, what streams, and the offline
 * model when no provider is configured.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { promptTokensOf, startFakeOpenAi, type FakeOpenAi } from '../../../test/support/fake-openai';
import { AppError } from '../../platform/errors';
import { LocalEncryptedSecretStore } from '../../secrets/local-encrypted-store';
import { BuiltinRuntime } from '../builtin-runtime';
import { createModelProviders } from '../model/providers';
import { basicFlow, flowEdge, flowExport, flowNode, runInput } from '../testing';
import { countTokens } from '../tokens';
import type { HistoryMessage, RunProgress } from '../types';
import { OFFLINE_NOTICE } from './deterministic-model';

const KEY = 'sk-runtime-test-abcdef0123456789';
let server: FakeOpenAi;
let other: FakeOpenAi;

before(async () => {
  server = await startFakeOpenAi({ apiKey: KEY });
  other = await startFakeOpenAi();
});
after(async () => {
  await server.close();
  await other.close();
});
beforeEach(() => {
  server.reset();
  other.reset();
});

const isCode = (code: string, check?: (e: AppError) => void) => (e: unknown) => {
  assert.ok(e instanceof AppError, `expected AppError ${code}, got ${e}`);
  assert.equal(e.code, code, e.message);
  check?.(e);
  return true;
};

function providers(over: { timeoutMs?: number; maxRetries?: number; models?: string[] } = {}) {
  return createModelProviders(
    {
      providers: [
        { name: 'main', baseUrl: server.baseUrl, models: over.models ?? ['gpt-4o-mini', 'gpt-4o'], apiKey: KEY, timeoutMs: over.timeoutMs ?? 5_000, maxRetries: over.maxRetries ?? 1 },
        { name: 'local', baseUrl: other.baseUrl, models: ['llama3.2'], timeoutMs: 5_000, maxRetries: 0 },
      ],
    },
    { retryBaseMs: 5 },
  );
}

/** ChatInput → Prompt → <model node> → ChatOutput, the model node configured like a Langflow export. */
function flowWithModel(type: string, fields: Record<string, unknown>) {
  const input = flowNode('ChatInput-jFwUm', 'ChatInput', { input_value: '' });
  const prompt = flowNode('Prompt-a1B2c', 'Prompt', { template: 'Answer briefly.\n\nQuestion: {question}', question: '' }, ['prompt']);
  const model = flowNode('OpenAIModel-sz6xc', type, { input_value: '', ...fields }, ['text_output', 'model_output']);
  const output = flowNode('ChatOutput-Zx9Yw', 'ChatOutput', { input_value: '' });
  return flowExport([input, prompt, model, output], [flowEdge(input, prompt, 'question'), flowEdge(prompt, model, 'input_value', 'prompt'), flowEdge(model, output, 'input_value', 'text_output')]);
}

const history: HistoryMessage[] = [
  { role: 'user', content: 'I bought a kettle last week.' },
  { role: 'assistant', content: 'Thanks! How can I help with your kettle?' },
];

describe('model node with a configured provider', () => {
  test('OpenAIModel: system message, history, then the prompt; its model, temperature and max_tokens; the provider\'s token counts', async () => {
    const flow = flowWithModel('OpenAIModel', { model_name: 'gpt-4o', temperature: 0.3, max_tokens: 256, system_message: 'You are ACME support.', api_key: '', openai_api_base: 'http://169.254.169.254/v1' });
    const r = await new BuiltinRuntime({ models: providers() }).run(runInput(flow, { history, maxOutputTokens: 100 }));
    const sent = server.requests[0].body;
    const expected = [
      { role: 'system', content: 'You are ACME support.' },
      { role: 'user', content: 'I bought a kettle last week.' },
      { role: 'assistant', content: 'Thanks! How can I help with your kettle?' },
      { role: 'user', content: 'Answer briefly.\n\nQuestion: How long do I have to return an item?' },
    ];
    assert.deepEqual(sent, { model: 'gpt-4o', messages: expected, temperature: 0.3, max_tokens: 100 });
    assert.equal(server.requests[0].headers.authorization, `Bearer ${KEY}`, 'the platform key, never the node\'s');
    assert.equal(r.output.text, 'Echo: Answer briefly.\n\nQuestion: How long do I have to return an item?');
    assert.equal(r.usage.tokens_in, promptTokensOf(expected), 'the provider\'s prompt_tokens, not an estimate');
    assert.notEqual(r.usage.tokens_in, countTokens(expected.map((m) => m.content).join('\n')));
    assert.equal(r.usage.tokens_out, r.output.text.split(/(?<= )/).length);
  });

  test('the node\'s own limit applies when it is below the run\'s cap; 0 means no node limit', async () => {
    await new BuiltinRuntime({ models: providers() }).run(runInput(flowWithModel('OpenAIModel', { model_name: 'gpt-4o-mini', max_tokens: 40 }), { maxOutputTokens: 500 }));
    assert.equal(server.requests[0].body.max_tokens, 40);
    await new BuiltinRuntime({ models: providers() }).run(runInput(flowWithModel('OpenAIModel', { model_name: 'gpt-4o-mini', max_tokens: 0 })));
    assert.equal('max_tokens' in server.requests[1].body, false);
  });

  test('the demo\'s LocalModel (builtin:deterministic) runs on the platform default model', async () => {
    const r = await new BuiltinRuntime({ models: providers() }).run(runInput(flowWithModel('LocalModel', { model_name: 'builtin:deterministic', system_message: 'Be kind.' })));
    assert.equal(server.requests[0].body.model, 'gpt-4o-mini');
    assert.ok(!r.output.text.includes(OFFLINE_NOTICE));
  });

  test('a model another provider lists goes there (LanguageModelComponent\'s `model` list form too)', async () => {
    await new BuiltinRuntime({ models: providers() }).run(runInput(flowWithModel('LanguageModelComponent', { model: [{ name: 'llama3.2', provider: 'Ollama' }], provider: 'OpenAI' })));
    assert.equal(server.requests.length, 0);
    assert.equal(other.requests[0].body.model, 'llama3.2');
    assert.equal(other.requests[0].headers.authorization, undefined);
    await new BuiltinRuntime({ models: providers() }).run(runInput(flowWithModel('OpenAIModel', { model_name: 'local/llama3.2' })));
    assert.equal(other.requests[1].body.model, 'llama3.2');
  });

  test('a model no provider offers: 422 INVALID_CONFIG naming what is offered, nothing sent', async () => {
    await assert.rejects(new BuiltinRuntime({ models: providers() }).run(runInput(flowWithModel('OpenAIModel', { model_name: 'gpt-5-ultra' }))), isCode('INVALID_CONFIG', (e) => {
      assert.equal(e.status, 422);
      assert.equal(e.details?.nodeId, 'OpenAIModel-sz6xc');
      assert.deepEqual(e.details?.offered, ['main/gpt-4o-mini', 'main/gpt-4o', 'local/llama3.2']);
    }));
    assert.equal(server.requests.length + other.requests.length, 0);
  });

  test('streamed run: the provider\'s deltas reach the run as they come; only the model feeding the output streams', async () => {
    // ChatInput → first model → Prompt → second model → ChatOutput: only the second streams.
    const input = flowNode('ChatInput-1', 'ChatInput', { input_value: '' });
    const first = flowNode('OpenAIModel-a', 'OpenAIModel', { model_name: 'gpt-4o-mini', input_value: '' }, ['text_output']);
    const prompt = flowNode('Prompt-1', 'Prompt', { template: 'Improve: {draft}', draft: '' }, ['prompt']);
    const second = flowNode('OpenAIModel-b', 'OpenAIModel', { model_name: 'gpt-4o', input_value: '' }, ['text_output']);
    const output = flowNode('ChatOutput-1', 'ChatOutput', { input_value: '' });
    const flow = flowExport([input, first, prompt, second, output], [flowEdge(input, first, 'input_value'), flowEdge(first, prompt, 'draft', 'text_output'), flowEdge(prompt, second, 'input_value', 'prompt'), flowEdge(second, output, 'input_value', 'text_output')]);
    const deltas: string[] = [];
    const progress: RunProgress = { delta: (t) => deltas.push(t), usage: {} };
    const r = await new BuiltinRuntime({ models: providers() }).run(runInput(flow, { progress }));
    assert.equal(server.requests[0].body.stream, undefined, 'the inner model is not streamed');
    assert.equal(server.requests[1].body.stream, true);
    assert.equal(deltas.join(''), r.output.text);
    assert.ok(deltas.length > 3);
    assert.equal(progress.usage.tokens_in, r.usage.tokens_in);
    assert.equal(r.usage.tokens_in, promptTokensOf(server.requests[0].body.messages) + promptTokensOf(server.requests[1].body.messages));
  });

  test('a stream broken after output: RUNTIME_ERROR, and the usage so far is kept in the progress record', async () => {
    server.next({ kind: 'break', after: 3 });
    const deltas: string[] = [];
    const progress: RunProgress = { delta: (t) => deltas.push(t), usage: {} };
    await assert.rejects(new BuiltinRuntime({ models: providers() }).run(runInput(flowWithModel('OpenAIModel', { model_name: 'gpt-4o-mini' }), { progress })), isCode('RUNTIME_ERROR'));
    assert.equal(deltas.length, 3);
    assert.equal(progress.usage.tokens_out, countTokens(deltas.join('')));
    assert.ok(progress.usage.tokens_in > 0);
  });

  test('provider 429 beyond the run\'s deadline: RATE_LIMITED with Retry-After comes out of the run', async () => {
    server.next({ kind: 'status', status: 429, headers: { 'retry-after': '120' } });
    await assert.rejects(new BuiltinRuntime({ models: providers() }).run(runInput(flowWithModel('OpenAIModel', { model_name: 'gpt-4o-mini' }), { timeoutMs: 5_000 })), isCode('RATE_LIMITED', (e) => {
      assert.equal(e.headers?.['Retry-After'], '120');
    }));
  });

  test('a provider slower than the run\'s budget: 504 DEPENDENCY_TIMEOUT and the call is aborted', async () => {
    server.next({ kind: 'hang' });
    const closed = server.aborted();
    await assert.rejects(new BuiltinRuntime({ models: providers({ timeoutMs: 60_000 }) }).run(runInput(flowWithModel('OpenAIModel', { model_name: 'gpt-4o-mini' }), { timeoutMs: 1_000 })), isCode('DEPENDENCY_TIMEOUT'));
    await closed;
  });

  test('a key from the secret store: read once and sent; a missing secret is a clean 503', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-secrets-'));
    try {
      const secrets = new LocalEncryptedSecretStore(dir);
      const withSecret = (path: string) =>
        createModelProviders({ providers: [{ name: 'vaulted', baseUrl: server.baseUrl, models: ['gpt-4o-mini'], apiKeySecret: { path, field: 'apiKey' }, timeoutMs: 5_000, maxRetries: 0 }] }, { secrets });
      await secrets.put('platform/llm/main', { apiKey: KEY });
      const rt = new BuiltinRuntime({ models: withSecret('platform/llm/main') });
      await rt.run(runInput(flowWithModel('OpenAIModel', {})));
      await rt.run(runInput(flowWithModel('OpenAIModel', {})));
      assert.deepEqual(server.requests.map((r) => r.headers.authorization), [`Bearer ${KEY}`, `Bearer ${KEY}`]);
      await assert.rejects(new BuiltinRuntime({ models: withSecret('platform/llm/absent') }).run(runInput(flowWithModel('OpenAIModel', {}))), isCode('DEPENDENCY_UNAVAILABLE', (e) => {
        assert.equal(e.details?.secretPath, 'platform/llm/absent');
      }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model node with tools (ToolCall nodes wired into its `tools` input)', () => {
  const binding = { bindingId: 'bind_01J9ZK7H0J1K2M3N4P5Q6R7S8T', connectorId: 'generic_http', name: 'Orders API' };
  function agentFlow() {
    const input = flowNode('ChatInput-1', 'ChatInput', { input_value: '' });
    const model = flowNode('OpenAIModel-1', 'OpenAIModel', { model_name: 'gpt-4o-mini', input_value: '', system_message: 'Use the tools.' }, ['text_output']);
    const tool = flowNode('ToolCall-1', 'ToolCall', {
      tool: 'orders.lookup',
      connectorId: 'generic_http',
      description: 'Looks an order up by its number',
      parameters: JSON.stringify({ type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] }),
    }, ['component_as_tool']);
    const output = flowNode('ChatOutput-1', 'ChatOutput', { input_value: '' });
    return flowExport([input, tool, model, output], [flowEdge(input, model, 'input_value'), flowEdge(tool, model, 'tools', 'component_as_tool'), flowEdge(model, output, 'input_value', 'text_output')]);
  }
  function invoker() {
    const calls: { tool: string; bindingId: string; input: Record<string, unknown>; scope: unknown }[] = [];
    return {
      calls,
      toolInvoker: {
        async invoke(tool: string, bindingId: string, input: Record<string, unknown>, ctx: { scope: unknown }) {
          calls.push({ tool, bindingId, input, scope: ctx.scope });
          return { status: 'shipped', eta: '2026-01-05' };
        },
      },
    };
  }

  test('the model\'s tool call runs through the Connector Gateway and its result goes back; the node is not run as a step', async () => {
    server.next({ kind: 'tool_call', calls: [{ name: 'orders_lookup', arguments: '{"orderId":"A-1001"}' }] });
    const { calls, toolInvoker } = invoker();
    const r = await new BuiltinRuntime({ models: providers(), toolInvoker }).run(runInput(agentFlow(), { bindings: [binding], input: { text: 'Where is order A-1001?' } }));
    assert.deepEqual(server.requests[0].body.tools, [{ type: 'function', function: { name: 'orders_lookup', description: 'Looks an order up by its number', parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] } } }]);
    assert.equal(server.requests[0].body.tool_choice, 'auto');
    assert.deepEqual(calls.map((c) => [c.tool, c.bindingId, c.input]), [['orders.lookup', binding.bindingId, { orderId: 'A-1001' }]]);
    const second = server.requests[1].body.messages;
    assert.equal(second.at(-2).role, 'assistant');
    assert.equal(second.at(-2).tool_calls[0].function.name, 'orders_lookup');
    assert.deepEqual(second.at(-1), { role: 'tool', tool_call_id: second.at(-2).tool_calls[0].id, content: '{"status":"shipped","eta":"2026-01-05"}' });
    assert.equal(r.output.text, 'Echo: Where is order A-1001?');
    assert.equal(r.usage.tool_calls, 1);
    assert.equal(r.usage.tokens_in, promptTokensOf(server.requests[0].body.messages) + promptTokensOf(second));
  });

  test('arguments that are not JSON go back to the model as an error, the tool is not called', async () => {
    server.next({ kind: 'tool_call', calls: [{ name: 'orders_lookup', arguments: '{orderId: A-1' }] });
    const { calls, toolInvoker } = invoker();
    await new BuiltinRuntime({ models: providers(), toolInvoker }).run(runInput(agentFlow(), { bindings: [binding] }));
    assert.equal(calls.length, 0);
    assert.match(server.requests[1].body.messages.at(-1).content, /not valid JSON/);
  });

  test('a model that keeps calling tools is made to answer after the last round', async () => {
    server.next(...Array.from({ length: 7 }, () => ({ kind: 'tool_call' as const, calls: [{ name: 'orders_lookup', arguments: '{"orderId":"x"}' }] })));
    const { calls, toolInvoker } = invoker();
    await new BuiltinRuntime({ models: providers(), toolInvoker }).run(runInput(agentFlow(), { bindings: [binding] }));
    assert.equal(server.requests.length, 6);
    assert.equal(calls.length, 5);
    assert.equal(server.requests[5].body.tool_choice, 'none');
    server.reset();
  });
});

describe('model node without a provider (the offline default)', () => {
  test('an OpenAIModel node answers from the offline model, which says so plainly', async () => {
    const r = await new BuiltinRuntime().run(runInput(flowWithModel('OpenAIModel', { model_name: 'gpt-4o-mini' })));
    assert.ok(r.output.text.startsWith(OFFLINE_NOTICE), r.output.text);
    assert.match(r.output.text, /no language model wrote this answer/);
  });

  test('it streams word by word and quotes the session\'s previous question', async () => {
    const deltas: string[] = [];
    const r = await new BuiltinRuntime().run(runInput(basicFlow(), { history, progress: { delta: (t) => deltas.push(t), usage: {} } }));
    assert.equal(deltas.join(''), r.output.text);
    assert.ok(deltas.length > 5);
    assert.match(r.output.text, /following up on "I bought a kettle last week\."/);
    const alone = await new BuiltinRuntime().run(runInput(basicFlow()));
    assert.ok(r.usage.tokens_in > alone.usage.tokens_in, 'the history is part of what the model reads');
  });

  test('maxOutputTokens caps the offline answer too', async () => {
    const r = await new BuiltinRuntime().run(runInput(basicFlow(), { maxOutputTokens: 12 }));
    assert.ok(r.usage.tokens_out <= 12);
    assert.equal(r.usage.tokens_out, countTokens(r.output.text));
  });
});
