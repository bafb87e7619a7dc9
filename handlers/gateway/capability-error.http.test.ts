/**
 * A capability hook that throws, through POST /v1/runs (Gateway → Runner → built-in model): the
 * run fails closed with 502 CAPABILITY_ERROR naming the capability and the hook (never the
 * hook's own message, which may quote user text), its reservation is voided, nothing is charged
 * and the wallet is exactly as before — as JSON (afterRun throws) and as a stream (outputStream
 * throws: the stream ends with the CAPABILITY_ERROR event). The guardrails' hooks are replaced
 * in this process (node:test mocks) for one test each; the demo assistant includes guardrails.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { capabilityHandlers } from '../../generated/capabilities/handler-registry';
import { activeInstance, buyer, run, wallet, type Buyer } from '../../test/support/gateway';
import { readEvents } from '../../test/support/sse';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let who: Buyer;
let instanceId: string;
const SECRET_TEXT = 'hook failed on user text 4111-1111';

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  who = await buyer(stack, 'hook-failure@example.com');
  instanceId = await activeInstance(stack, who);
});
after(async () => stack?.close());

async function reservation(id: string) {
  const r = await http('GET', `${stack.url('control-plane')}/billing/reservations/${id}`, { token: who.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

test('afterRun throws → 502 CAPABILITY_ERROR naming guardrails_policy/afterRun; the hold is voided; nothing charged', async (t) => {
  const hooks = capabilityHandlers.guardrails_policy as unknown as { afterRun: (...a: unknown[]) => unknown };
  t.mock.method(hooks, 'afterRun', () => {
    throw new Error(SECRET_TEXT);
  });
  const before = await wallet(stack, who);
  const r = await run(stack, { token: who.token, instanceId, text: 'How do I return an item?' });
  assert.equal(r.status, 502, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'CAPABILITY_ERROR');
  assert.equal(r.body.error.details.capability, 'guardrails_policy');
  assert.equal(r.body.error.details.hook, 'afterRun');
  assert.equal(r.body.error.details.charged, false);
  assert.ok(!JSON.stringify(r.body).includes(SECRET_TEXT), 'the hook\'s message stays in the log');
  const res = await reservation(r.body.error.details.reservationId);
  assert.equal(res.status, 'voided');
  assert.equal(res.runId, r.body.error.details.runId);
  assert.deepEqual(await wallet(stack, who), before, 'balance and reserved exactly as before');
  const record = await http('GET', `${stack.url('gateway')}/v1/runs/${r.body.error.details.runId}`, { token: who.token });
  assert.equal(record.status, 200, JSON.stringify(record.body));
  assert.notEqual(record.body.status, 'succeeded');
  assert.equal(record.body.billing?.creditsCharged ?? 0, 0);

  t.mock.restoreAll();
  const ok = await run(stack, { token: who.token, instanceId, text: 'How do I return an item?' });
  assert.equal(ok.status, 200, 'the same instance runs again once the hook works');
});

test('a stream whose outputStream filter throws ends with a CAPABILITY_ERROR event; the hold is voided; nothing charged', async (t) => {
  const hooks = capabilityHandlers.guardrails_policy as unknown as { outputStream: (...a: unknown[]) => unknown };
  t.mock.method(hooks, 'outputStream', () => ({
    push: () => {
      throw new Error(SECRET_TEXT);
    },
    end: () => '',
  }));
  const before = await wallet(stack, who);
  const res = await fetch(`${stack.url('gateway')}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${who.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ instanceId, input: { text: 'How do I return an item?' } }),
  });
  assert.equal(res.status, 200);
  const events = await readEvents(res);
  assert.equal(events[0]!.event, 'start');
  assert.equal(events.filter((e) => e.event === 'delta').length, 0, 'nothing the filter did not pass was sent');
  const last = events.at(-1)!;
  assert.equal(last.event, 'error', JSON.stringify(events));
  assert.equal(last.data.error.code, 'CAPABILITY_ERROR');
  assert.equal(last.data.error.details.capability, 'guardrails_policy');
  assert.equal(last.data.error.details.hook, 'outputStream');
  assert.equal(last.data.error.details.charged, false);
  assert.ok(!JSON.stringify(events).includes(SECRET_TEXT));
  assert.equal((await reservation(last.data.error.details.reservationId)).status, 'voided');
  assert.deepEqual(await wallet(stack, who), before);
});
