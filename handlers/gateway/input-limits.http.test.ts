/**
 * The run input limit through POST /v1/runs: one source (the entitlements'
 * `limits.maxInputCharsByChannel`, from the effective config), so an offering's default and a
 * plan's default each change what the gateway refuses — 413 INPUT_TOO_LARGE naming the limit and
 * the input's length, nothing reserved — and an input at the limit runs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, publishVariant, run, wallet, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;
let who: Buyer;
let apiKey: string;

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  cp = stack.url('control-plane');
  // One offering lowers the API's limit to 400 itself; another leaves it to its plans (pro 500,
  // starter 200) and lowers the widget's to 300. (An offering's default wins over a plan's.)
  await publishVariant(stack, 'offering-limited', (v) => {
    v.capabilities.find((c) => c.id === 'api_endpoint').defaults = { maxInputChars: 400 };
  });
  await publishVariant(stack, 'plan-limited', (v) => {
    v.capabilities.find((c) => c.id === 'web_widget').defaults.maxInputChars = 300;
    v.plans.find((p) => p.id === 'pro').defaults.api_endpoint = { maxInputChars: 500 };
    v.plans.find((p) => p.id === 'starter').defaults.api_endpoint = { maxInputChars: 200 };
  });
  who = await buyer(stack, 'limited@example.com');
  const key = await http('POST', `${cp}/projects/${who.projectId}/api-keys`, { token: who.token, body: { name: 'limits' } });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  apiKey = key.body.secret;
});
after(async () => stack?.close());

async function refusedAt(opts: { instanceId: string; apiKey?: string; token?: string }, limit: number) {
  const before = await wallet(stack, who);
  const over = await run(stack, { ...opts, text: 'x'.repeat(limit + 1) });
  assert.equal(over.status, 413, JSON.stringify(over.body));
  assert.equal(over.body.error.code, 'INPUT_TOO_LARGE');
  assert.equal(over.body.error.details.maxInputChars, limit);
  assert.equal(over.body.error.details.inputChars, limit + 1);
  assert.deepEqual(await wallet(stack, who), before, 'a refused input reserves and charges nothing');
  const at = await run(stack, { ...opts, text: `${'How do I return an item? '.repeat(Math.ceil(limit / 25))}`.slice(0, limit) });
  assert.equal(at.status, 200, JSON.stringify(at.body));
}

test('the offering\'s api_endpoint.maxInputChars is the API key channel\'s limit; signed-in users get the largest experience limit', async () => {
  const instanceId = await activeInstance(stack, who, { slug: 'offering-limited', planId: 'pro' });
  const ent = (await http('GET', `${cp}/instances/${instanceId}/entitlements`, { token: who.token })).body;
  assert.deepEqual(ent.limits.maxInputCharsByChannel, { user: 2000, api_key: 400, widget: 2000, trigger: 2000 }, 'the widget keeps its schema default (2000)');
  await refusedAt({ instanceId, apiKey }, 400);
  await refusedAt({ instanceId, token: who.token }, 2000);
});

test('a plan\'s default sets it where the offering does not: pro 500, starter 200 on the same offering', async () => {
  const pro = await activeInstance(stack, who, { slug: 'plan-limited', planId: 'pro' });
  const ent = (await http('GET', `${cp}/instances/${pro}/entitlements`, { token: who.token })).body;
  assert.deepEqual(ent.limits.maxInputCharsByChannel, { user: 500, api_key: 500, widget: 300, trigger: 500 });
  await refusedAt({ instanceId: pro, apiKey }, 500);

  const starter = await activeInstance(stack, who, { slug: 'plan-limited', planId: 'starter' });
  const lower = (await http('GET', `${cp}/instances/${starter}/entitlements`, { token: who.token })).body;
  assert.deepEqual(lower.limits.maxInputCharsByChannel, { user: 300, api_key: 200, widget: 300, trigger: 300 });
  await refusedAt({ instanceId: starter, apiKey }, 200);
  await refusedAt({ instanceId: starter, token: who.token }, 300);
});
