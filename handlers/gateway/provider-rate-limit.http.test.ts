/**
 * A model provider's 429 reaches the gateway's caller with its wait: gateway → Runner → a
 * protocol-faithful OpenAI server (test/support/fake-openai.ts) answering 429 with Retry-After.
 * The waits are longer than a run may take (60 s), so the Runner answers at once instead of
 * waiting and retrying. The caller gets 429 RATE_LIMITED with the provider's Retry-After (JSON answers), the run is not
 * charged (its hold is voided), and a stream that already started ends with an `error` event
 * carrying `retryAfterSeconds`.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { startFakeOpenAi, type FakeOpenAi } from '../../test/support/fake-openai';
import { activeInstance, buyer, run, wallet, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

const KEY = 'sk-gateway-429-test-0123456789abcdef';
let provider: FakeOpenAi;
let stack: TestStack;
let who: Buyer;
let instanceId: string;

before(async () => {
  provider = await startFakeOpenAi({ apiKey: KEY });
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], {
    SEED_DEMO: '1', LLM_BASE_URL: provider.url, LLM_MODELS: 'gpt-4o-mini', LLM_API_KEY: KEY, LLM_TIMEOUT_MS: '3000', LLM_MAX_RETRIES: '1',
  });
  who = await buyer(stack, 'provider-429@example.com');
  instanceId = await activeInstance(stack, who);
});
after(async () => {
  await stack?.close();
  await provider?.close();
});
beforeEach(() => provider.reset());

test('the provider answers 429 with Retry-After: the caller gets 429 RATE_LIMITED with the same Retry-After; nothing is charged', async () => {
  const ok = await run(stack, { token: who.token, instanceId, text: 'warm up' });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const before = await wallet(stack, who);
  const calls = provider.requests.length;
  provider.next({ kind: 'status', status: 429, headers: { 'retry-after': '120' } });
  const r = await run(stack, { token: who.token, instanceId, text: 'Where is my parcel?' });
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.headers.get('retry-after'), '120');
  assert.equal(r.body.error.code, 'RATE_LIMITED');
  assert.equal(r.body.error.details.retryAfterSeconds, 120);
  assert.equal(r.body.error.details.dependency, 'model');
  assert.equal(r.body.error.details.charged, false);
  assert.equal(provider.requests.length - calls, 1, 'the gateway does not retry a run the provider refused');
  assert.deepEqual(await wallet(stack, who), before, 'nothing charged, nothing held');
  const record = await http('GET', `${stack.url('gateway')}/v1/runs/${r.body.error.details.runId}`, { token: who.token });
  assert.equal(record.body.status, 'failed');
});

test('an HTTP-date Retry-After is passed on as the provider sent it', async () => {
  const at = new Date(Date.now() + 300_000).toUTCString();
  provider.next({ kind: 'status', status: 429, headers: { 'retry-after': at } });
  const r = await run(stack, { token: who.token, instanceId, text: 'Where is my parcel?' });
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.ok(r.headers.get('retry-after'), 'a Retry-After reaches the caller');
  assert.ok(r.body.error.details.retryAfterSeconds > 0);
});

test('streaming: the 429 comes before any output, so the stream ends with an error event that carries retryAfterSeconds; nothing is charged', async () => {
  const before = await wallet(stack, who);
  provider.next({ kind: 'status', status: 429, headers: { 'retry-after': '150' } });
  const res = await fetch(`${stack.url('gateway')}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${who.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ instanceId, input: { text: 'Where is my parcel?' } }),
  });
  const text = await res.text();
  const error = /event: error\ndata: (.*)\n/.exec(text)?.[1];
  assert.ok(error, text);
  const e = JSON.parse(error!).error;
  assert.equal(e.code, 'RATE_LIMITED');
  assert.equal(e.details.retryAfterSeconds, 150);
  assert.deepEqual(await wallet(stack, who), before, 'nothing charged, nothing held');
});
