/**
 * chat_ui.sessionRetentionDays through the gateway: a run's input and output (and so its session
 * turns) are kept that many days. Runs on two instances (1 day, 7 days) are answered and listed;
 * the retention sweep two days later removes the first instance's session turns and keeps the
 * second's, while both run records and their charges stay.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { purgeExpiredRunBodies } from '../../src/runs/history';
import { activeInstance, buyer, run, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let who: Buyer;

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  who = await buyer(stack, 'retention@example.com');
});
after(async () => stack?.close());

const messages = async (instanceId: string, sessionId: string) => {
  const r = await http('GET', `${stack.url('gateway')}/v1/sessions/${sessionId}/messages?instanceId=${instanceId}`, { token: who.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items as { role: string; content: string }[];
};

test('the session turns of a 1-day instance are gone after two days; a 7-day instance keeps them; the run records stay', async () => {
  const short = await activeInstance(stack, who, { configOverrides: { chat_ui: { sessionRetentionDays: 1 } } });
  const long = await activeInstance(stack, who, { configOverrides: { chat_ui: { sessionRetentionDays: 7 } } });
  const a = await run(stack, { token: who.token, instanceId: short, text: 'Where is my order?', body: { sessionId: 'keep-short' } });
  const b = await run(stack, { token: who.token, instanceId: long, text: 'Where is my order?', body: { sessionId: 'keep-long' } });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(b.status, 200, JSON.stringify(b.body));
  assert.equal((await messages(short, 'keep-short')).length, 2);
  assert.equal((await messages(long, 'keep-long')).length, 2);

  await purgeExpiredRunBodies(stack.db!, { now: new Date(Date.now() + 2 * 86_400_000) });
  assert.equal((await messages(short, 'keep-short')).length, 0, 'past its 1 day: the turns are deleted');
  assert.equal((await messages(long, 'keep-long')).length, 2, 'within its 7 days: kept');
  const record = await http('GET', `${stack.url('gateway')}/v1/runs/${a.body.runId}`, { token: who.token });
  assert.equal(record.status, 200);
  assert.equal(record.body.billing.creditsCharged, a.body.billing.creditsCharged, 'the money facts of the run stay');
});
