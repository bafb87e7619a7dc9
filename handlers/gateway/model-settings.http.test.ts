/**
 * prompt_orchestrator's sampling settings through POST /v1/runs with a model provider (the
 * OpenAI-protocol test server): `temperature` and `topP` reach the Chat Completions request as
 * `temperature` and `top_p`, and a changed value changes what the provider receives.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, run, type Buyer } from '../../test/support/gateway';
import { startFakeOpenAi, type FakeOpenAi } from '../../test/support/fake-openai';
import { startTestStack, type TestStack } from '../../test/support/stack';

const KEY = 'sk-model-settings-test-0123456789abcdef';
let provider: FakeOpenAi;
let stack: TestStack;
let who: Buyer;

before(async () => {
  provider = await startFakeOpenAi({ apiKey: KEY });
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', LLM_BASE_URL: provider.url, LLM_MODELS: 'gpt-4o-mini', LLM_API_KEY: KEY });
  who = await buyer(stack, 'sampler@example.com');
});
after(async () => {
  await stack?.close();
  await provider?.close();
});

async function modelRequestOf(instanceId: string): Promise<Record<string, unknown>> {
  provider.reset();
  const r = await run(stack, { token: who.token, instanceId, text: 'How long do I have to return an item?' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const req = provider.requests.at(-1);
  assert.ok(req, 'the model was called');
  return req.body;
}

test('topP and temperature reach the model as top_p and temperature; another value, another request', async () => {
  const narrow = await activeInstance(stack, who, { configOverrides: { prompt_orchestrator: { model: 'gpt-4o-mini', topP: 0.35, temperature: 0.9 } } });
  const sent = await modelRequestOf(narrow);
  assert.equal(sent.top_p, 0.35);
  assert.equal(sent.temperature, 0.9);

  const wide = await activeInstance(stack, who, { configOverrides: { prompt_orchestrator: { model: 'gpt-4o-mini', topP: 0.8 } } });
  const other = await modelRequestOf(wide);
  assert.equal(other.top_p, 0.8);
  assert.equal(other.temperature, 0.2, 'the offering\'s temperature where the instance sets none');
});
