/**
 * Signed inbound webhooks through the whole stack: the owner issues the trigger's secret (shown
 * once), a delivery signed with it starts a billed run that is in the history with its trigger,
 * and forged, re-dated, expired, unsigned and replayed deliveries are refused with 401
 * SIGNATURE_INVALID and nothing run (no run record, the wallet untouched).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, waitFor, wallet } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';
import { signDelivery, signatureProblem } from './webhook';

let stack: TestStack;
let cp: string;

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', SCHEDULER_ENABLED: 'false' });
  cp = stack.url('control-plane');
});
after(async () => stack?.close());

async function deliver(url: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as any };
}

test('a signed delivery starts one billed run; forged, expired, unsigned and replayed deliveries run nothing', async () => {
  const ann = await buyer(stack, 'hook-ann@example.com');
  const instanceId = await activeInstance(stack, ann, { configOverrides: { scheduler_triggers: { webhookTrigger: true } } });
  const issued = await http('POST', `${cp}/instances/${instanceId}/triggers/webhook/secret`, { token: ann.token });
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  const { url, secret, triggerId } = issued.body;
  assert.match(secret, /^whsec_/);
  assert.ok(url.endsWith(`/triggers/${triggerId}/webhook`));
  const listed = await http('GET', `${cp}/instances/${instanceId}/triggers`, { token: ann.token });
  assert.ok(!JSON.stringify(listed.body).includes(secret), 'the secret is shown once, never listed');

  const w0 = await wallet(stack, ann);
  const now = () => String(Math.floor(Date.now() / 1000));
  const body = JSON.stringify({ input: 'New order #1042 arrived', orderId: 1042 });

  // Refusals first: nothing may run for any of them.
  const ts = now();
  const forged = await deliver(url, body, { 'x-trigger-timestamp': ts, 'x-trigger-signature': signDelivery('whsec_not-the-secret', ts, body) });
  assert.equal(forged.status, 401);
  assert.deepEqual([forged.body.error.code, forged.body.error.details.reason], ['SIGNATURE_INVALID', 'mismatch']);
  const tampered = await deliver(url, body.replace('1042', '1043'), { 'x-trigger-timestamp': ts, 'x-trigger-signature': signDelivery(secret, ts, body) });
  assert.equal(tampered.body.error.details.reason, 'mismatch', 'a changed body breaks the signature');
  const redated = await deliver(url, body, { 'x-trigger-timestamp': String(Number(ts) + 1), 'x-trigger-signature': signDelivery(secret, ts, body) });
  assert.equal(redated.body.error.details.reason, 'mismatch', 'the timestamp is signed');
  const old = String(Number(ts) - 301);
  const expired = await deliver(url, body, { 'x-trigger-timestamp': old, 'x-trigger-signature': signDelivery(secret, old, body) });
  assert.deepEqual([expired.status, expired.body.error.details.reason], [401, 'expired']);
  const unsigned = await deliver(url, body, {});
  assert.deepEqual([unsigned.status, unsigned.body.error.details.reason], [401, 'missing']);
  const unknown = await deliver(url.replace(triggerId, 'trg_000000000000000000000000'), body, { 'x-trigger-timestamp': ts, 'x-trigger-signature': signDelivery(secret, ts, body) });
  assert.equal(unknown.status, 404);

  const good = await deliver(url, body, { 'x-trigger-timestamp': ts, 'x-trigger-signature': signDelivery(secret, ts, body) });
  assert.equal(good.status, 202, JSON.stringify(good.body));
  assert.equal(good.body.instanceId, instanceId);
  const replay = await deliver(url, body, { 'x-trigger-timestamp': ts, 'x-trigger-signature': signDelivery(secret, ts, body) });
  assert.deepEqual([replay.status, replay.body.error.details.reason], [401, 'replayed']);

  const record = await waitFor('the webhook run finished', async () => {
    const r = await http('GET', `${stack.url('gateway')}/v1/runs/${good.body.runId}`, { token: ann.token });
    return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
  });
  assert.equal(record.status, 'succeeded', JSON.stringify(record));
  assert.deepEqual(record.trigger, { kind: 'webhook', id: triggerId });
  assert.equal(record.usage.dimensions.scheduled_runs, 1);
  const runs = (await http('GET', `${cp}/instances/${instanceId}/runs`, { token: ann.token })).body.items;
  assert.equal(runs.length, 1, 'exactly one run for seven deliveries');
  const w1 = await wallet(stack, ann);
  assert.equal(w1.balance, w0.balance - record.billing.creditsCharged);
  assert.ok(record.billing.creditsCharged > 0);

  // Rotating the secret retires the old one at once.
  const rotated = await http('POST', `${cp}/instances/${instanceId}/triggers/webhook/secret`, { token: ann.token });
  assert.equal(rotated.body.triggerId, triggerId);
  const ts2 = now();
  const stale = await deliver(url, body, { 'x-trigger-timestamp': ts2, 'x-trigger-signature': signDelivery(secret, ts2, body) });
  assert.equal(stale.status, 401);
});

test('scheduler_triggers.maxRunsPerDay: past the day\'s triggered runs a delivery answers 429 DAILY_RUN_LIMIT_EXCEEDED and runs nothing', async () => {
  const cy = await buyer(stack, 'hook-cy@example.com');
  const instanceId = await activeInstance(stack, cy, { configOverrides: { scheduler_triggers: { webhookTrigger: true, maxRunsPerDay: 1 } } });
  const { url, secret } = (await http('POST', `${cp}/instances/${instanceId}/triggers/webhook/secret`, { token: cy.token })).body;
  const send = (input: string) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const body = JSON.stringify({ input });
    return deliver(url, body, { 'x-trigger-timestamp': ts, 'x-trigger-signature': signDelivery(secret, ts, body) });
  };
  const first = await send('first');
  assert.equal(first.status, 202, JSON.stringify(first.body));
  await waitFor('the first run recorded', async () => {
    const r = await http('GET', `${stack.url('gateway')}/v1/runs/${first.body.runId}`, { token: cy.token });
    return r.status === 200 && r.body.status !== 'running' ? true : undefined;
  });
  const second = await send('second');
  assert.equal(second.status, 429, JSON.stringify(second.body));
  assert.equal(second.body.error.code, 'DAILY_RUN_LIMIT_EXCEEDED');
  assert.deepEqual([second.body.error.details.maxRunsPerDay, second.body.error.details.runsToday], [1, 1]);
  const runs = (await http('GET', `${cp}/instances/${instanceId}/runs`, { token: cy.token })).body.items;
  assert.equal(runs.length, 1);
});

test('webhook triggers: off in the config → 409; another tenant cannot issue a secret (404)', async () => {
  const ben = await buyer(stack, 'hook-ben@example.com');
  const eve = await buyer(stack, 'hook-eve@example.com');
  const instanceId = await activeInstance(stack, ben);
  const off = await http('POST', `${cp}/instances/${instanceId}/triggers/webhook/secret`, { token: ben.token });
  assert.equal(off.status, 409, JSON.stringify(off.body));
  const foreign = await http('POST', `${cp}/instances/${instanceId}/triggers/webhook/secret`, { token: eve.token });
  assert.equal(foreign.status, 404);
});

test('signatures: constant-time match of any v1 value, a bounded window', () => {
  const raw = Buffer.from('{"a":1}');
  const t = String(Math.floor(Date.now() / 1000));
  const sig = signDelivery('s3cret', t, raw);
  assert.equal(signatureProblem('s3cret', t, sig, raw, Date.now()), undefined);
  assert.equal(signatureProblem('s3cret', t, `v1=${'0'.repeat(64)}, ${sig}`, raw, Date.now()), undefined, 'several values: one matching is enough');
  assert.equal(signatureProblem('s3cret', t, 'v1=abc', raw, Date.now()), 'mismatch');
  assert.equal(signatureProblem('s3cret', t, sig, raw, Date.now() + 301_000), 'expired');
  assert.equal(signatureProblem('s3cret', 'yesterday', sig, raw, Date.now()), 'expired');
});
