/**
 * A webhook delivery answered 202 is run even when its control plane goes away before the run
 * started: the first stack accepts the delivery while the gateway cannot be reached (what a
 * crash right after the 202 leaves behind: a pending delivery, nothing run) and stops; a new
 * stack on the same database and data directory (a restart) runs it — once, billed once, with
 * the run id the 202 named — and later ticks run nothing more. Then the store's rules: a leased
 * delivery is not claimed again until its lease lapses, two replicas never claim the same one,
 * and a finished one is never claimed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, waitFor, wallet, type Buyer } from '../../test/support/gateway';
import { openTestDb, type TestDb } from '../../test/support/db';
import { http, startTestStack, type TestStack } from '../../test/support/stack';
import { claimPendingDeliveries, finishDelivery, recordDelivery } from './deliveries';
import { signDelivery } from './webhook';

let testDb: TestDb;
let dataDir: string;
let stack: TestStack | undefined;

before(async () => {
  testDb = await openTestDb();
  dataDir = mkdtempSync(join(tmpdir(), 'agent-store-restart-'));
});
after(async () => {
  await stack?.close();
  await testDb?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const reuse = () => ({ db: testDb.db, dataDir });

test('accepted, then the control plane is gone before the run started: after a restart the delivery runs exactly once', async () => {
  // The first control plane cannot reach a gateway (port 9: nothing listens), as if it died right after answering.
  stack = await startTestStack(['control-plane'], { SEED_DEMO: '1', API_BASE: 'http://127.0.0.1:9', SCHEDULER_ENABLED: 'false' }, { reuse: reuse() });
  const cp = stack.url('control-plane');
  const ann: Buyer = await buyer(stack, 'restart-ann@example.com');
  const instanceId = await activeInstance(stack, ann, { configOverrides: { scheduler_triggers: { webhookTrigger: true } } });
  const { url, secret, triggerId } = (await http('POST', `${cp}/instances/${instanceId}/triggers/webhook/secret`, { token: ann.token })).body;
  const w0 = await wallet(stack, ann);
  const ts = String(Math.floor(Date.now() / 1000));
  const body = JSON.stringify({ input: 'Order #7 arrived' });
  const accepted = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trigger-timestamp': ts, 'x-trigger-signature': signDelivery(secret, ts, body) }, body });
  assert.equal(accepted.status, 202);
  const { runId } = (await accepted.json()) as { runId: string };
  await stack.close();
  stack = undefined;
  const [row] = await testDb.db('trigger_deliveries').where({ trigger_id: triggerId });
  assert.equal(row.finished_at, null, 'the delivery is pending');
  assert.equal(Number((await testDb.db('runs').where({ instance_id: instanceId }).count<{ count: string }[]>('* as count'))[0]!.count), 0, 'nothing ran');

  // The restart: a whole stack on the same database; its scheduler finds the pending delivery.
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', SCHEDULER_TICK_MS: '200' }, { reuse: reuse() });
  const token = await stack.userToken(ann.email);
  const record = await waitFor('the delivery\'s run finished', async () => {
    const r = await http('GET', `${stack!.url('gateway')}/v1/runs/${runId}`, { token });
    return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
  }, 30_000, 100);
  assert.equal(record.status, 'succeeded', JSON.stringify(record));
  assert.deepEqual(record.trigger, { kind: 'webhook', id: triggerId });
  await waitFor('the delivery finished', async () => ((await testDb.db('trigger_deliveries').where({ trigger_id: triggerId }).first()).finished_at ? true : undefined), 10_000, 100);
  await new Promise((r) => setTimeout(r, 1_000)); // five more ticks
  const runs = (await http('GET', `${stack.url('control-plane')}/instances/${instanceId}/runs`, { token })).body.items;
  assert.deepEqual(runs.map((r: { runId: string }) => r.runId), [runId], 'exactly one run, the one the 202 named');
  const w1 = await wallet(stack, { ...ann, token });
  assert.equal(w1.balance, w0.balance - record.billing.creditsCharged, 'billed once');
});

test('store: a leased delivery waits for its lease; two replicas claim it once; a finished one is never claimed', async () => {
  const db = testDb.db;
  const [trigger] = await db('instance_triggers').where({ kind: 'webhook' });
  assert.ok(trigger, 'the first test left a webhook trigger');
  const t0 = new Date();
  const d = await recordDelivery(db, { triggerId: trigger.id, instanceId: trigger.instance_id, signature: 'v1=store-test', runId: 'run_storetest0001', input: 'x', idempotencyKey: 'webhook:store-test', requestId: 'req_store' }, t0, 60_000);
  assert.ok(d);
  assert.equal(await recordDelivery(db, { triggerId: trigger.id, instanceId: trigger.instance_id, signature: 'v1=store-test', runId: 'run_storetest0001', input: 'x', idempotencyKey: 'webhook:store-test', requestId: 'req_store' }, t0), undefined, 'a replay is not recorded');
  assert.deepEqual(await claimPendingDeliveries(db, { now: new Date(t0.getTime() + 30_000), limit: 10 }), [], 'its lease holds');
  const later = new Date(t0.getTime() + 61_000);
  const [a, b] = await Promise.all([claimPendingDeliveries(db, { now: later, limit: 10 }), claimPendingDeliveries(db, { now: later, limit: 10 })]);
  assert.equal(a.length + b.length, 1, 'one replica claims the lapsed delivery');
  assert.equal([...a, ...b][0]!.idempotencyKey, 'webhook:store-test', 'with the same Idempotency-Key');
  await finishDelivery(db, d!, later);
  assert.deepEqual(await claimPendingDeliveries(db, { now: new Date(t0.getTime() + 10 * 60_000), limit: 10 }), []);
});
