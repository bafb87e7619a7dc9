/**
 * multilingual through POST /v1/runs with a model provider (the OpenAI-protocol test server): the
 * demo assistant's reply language reaches the model as an instruction in its system message —
 * German input → German, an unsupported language → the fallback, autoDetect off → the default.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, run, type Buyer } from '../../test/support/gateway';
import { startFakeOpenAi, type FakeOpenAi } from '../../test/support/fake-openai';
import { startTestStack, type TestStack } from '../../test/support/stack';

const KEY = 'sk-multilingual-test-0123456789abcdef';
let provider: FakeOpenAi;
let stack: TestStack;
let who: Buyer;

before(async () => {
  provider = await startFakeOpenAi({ apiKey: KEY });
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', LLM_BASE_URL: provider.url, LLM_MODELS: 'gpt-4o-mini', LLM_API_KEY: KEY });
  who = await buyer(stack, 'polyglot@example.com');
});
after(async () => {
  await stack?.close();
  await provider?.close();
});

async function systemMessageFor(instanceId: string, text: string): Promise<string> {
  provider.reset();
  const r = await run(stack, { token: who.token, instanceId, text });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const req = provider.requests.at(-1);
  assert.ok(req, 'the model was called');
  return String(req.body.messages.find((m: any) => m.role === 'system')?.content ?? '');
}

test('the reply language follows the input (detected), else the fallback; the model is told in its system message', async () => {
  const instanceId = await activeInstance(stack, who, { configOverrides: { prompt_orchestrator: { model: 'gpt-4o-mini' }, multilingual: { supportedLanguages: ['en', 'de'], fallbackLanguage: 'en' } } });
  const de = await systemMessageFor(instanceId, 'Wie lange habe ich Zeit, einen Artikel zurückzugeben?');
  assert.match(de, /Reply in German \(de\)/);
  assert.match(de, /customer support/, 'the flow\'s own system message stays first');
  assert.match(await systemMessageFor(instanceId, '¿Cuánto tiempo tengo para devolver un artículo?'), /Reply in English \(en\)/);
});

test('autoDetect off: always the default language', async () => {
  const instanceId = await activeInstance(stack, who, { configOverrides: { prompt_orchestrator: { model: 'gpt-4o-mini' }, multilingual: { autoDetect: false, defaultLanguage: 'de', supportedLanguages: ['en', 'de'], fallbackLanguage: 'de' } } });
  assert.match(await systemMessageFor(instanceId, 'How long do I have to return an item?'), /Reply in German \(de\)/);
});
