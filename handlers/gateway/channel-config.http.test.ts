/**
 * The experience capabilities' per-channel settings through POST /v1/runs (Gateway → Runner →
 * built-in model): api_endpoint.allowApiKeys refuses project API keys (a signed-in user still
 * runs); api_endpoint.burst and rateLimitPerMinute size each API key's bucket (the burst-th + 1
 * run answers 429 RATE_LIMITED, its Retry-After follows the per-minute rate); chat_ui's
 * rateLimitPerMinute does the same for signed-in users. Refused runs charge nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, run, wallet, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let who: Buyer;
let apiKey: string;

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  who = await buyer(stack, 'channels@example.com');
  const key = await http('POST', `${stack.url('control-plane')}/projects/${who.projectId}/api-keys`, { token: who.token, body: { name: 'channels' } });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  apiKey = key.body.secret;
});
after(async () => stack?.close());

test('api_endpoint.allowApiKeys false: API keys are refused 403 NOT_ENTITLED, users still run; true: the key runs', async () => {
  const closed = await activeInstance(stack, who, { configOverrides: { api_endpoint: { allowApiKeys: false } } });
  const before = await wallet(stack, who);
  const refused = await run(stack, { apiKey, instanceId: closed });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'NOT_ENTITLED');
  assert.deepEqual(await wallet(stack, who), before);
  assert.equal((await run(stack, { token: who.token, instanceId: closed })).status, 200);
  const open = await activeInstance(stack, who, { configOverrides: { api_endpoint: { allowApiKeys: true } } });
  assert.equal((await run(stack, { apiKey, instanceId: open })).status, 200);
});

async function untilLimited(opts: { apiKey?: string; token?: string; instanceId: string }, max: number) {
  const statuses: number[] = [];
  for (let i = 0; i < max; i++) {
    const r = await run(stack, opts);
    statuses.push(r.status);
    if (r.status === 429) return { statuses, limited: r };
  }
  return { statuses, limited: undefined };
}

test('api_endpoint.burst is the API key\'s burst; rateLimitPerMinute sets how long it waits', async () => {
  const slow = await activeInstance(stack, who, { configOverrides: { api_endpoint: { rateLimitPerMinute: 2, burst: 2 } } });
  const a = await untilLimited({ apiKey, instanceId: slow }, 5);
  assert.deepEqual(a.statuses, [200, 200, 429], 'two runs, then the key\'s bucket is empty');
  assert.equal(a.limited!.body.error.code, 'RATE_LIMITED');
  const slowWait = Number(a.limited!.headers.get('retry-after'));
  assert.ok(slowWait >= 20 && slowWait <= 30, `2 a minute: a token every 30 s (Retry-After ${slowWait})`);

  const fast = await activeInstance(stack, who, { configOverrides: { api_endpoint: { rateLimitPerMinute: 6, burst: 3 } } });
  const b = await untilLimited({ apiKey, instanceId: fast }, 6);
  assert.deepEqual(b.statuses, [200, 200, 200, 429], 'burst 3');
  const fastWait = Number(b.limited!.headers.get('retry-after'));
  assert.ok(fastWait >= 5 && fastWait <= 10, `6 a minute: a token every 10 s (Retry-After ${fastWait})`);
  const before = await wallet(stack, who);
  assert.equal((await run(stack, { apiKey, instanceId: slow })).status, 429);
  assert.deepEqual(await wallet(stack, who), before, 'a limited run charges nothing');
});

test('chat_ui.rateLimitPerMinute limits each signed-in user of the instance', async () => {
  const instanceId = await activeInstance(stack, who, { configOverrides: { chat_ui: { rateLimitPerMinute: 1 } } });
  const a = await untilLimited({ token: who.token, instanceId }, 4);
  assert.deepEqual(a.statuses, [200, 429], 'one a minute (the bucket holds one)');
  const wait = Number(a.limited!.headers.get('retry-after'));
  assert.ok(wait >= 50 && wait <= 60, `Retry-After ${wait}`);
  const roomy = await activeInstance(stack, who, { configOverrides: { chat_ui: { rateLimitPerMinute: 600 } } });
  const b = await untilLimited({ token: who.token, instanceId: roomy }, 3);
  assert.deepEqual(b.statuses, [200, 200, 200], 'the pro plan\'s burst, not one a minute');
});
