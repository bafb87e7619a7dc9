/**
 * POST /v1/runs over HTTP through the Gateway → Runner → built-in runtime, with the Control Plane
 * on its database: T3 (a run and its billing), T4/T5 (blocked when short of credits, unblocked by
 * a top-up), T12 (429 + Retry-After), paused instances, concurrent runs on one wallet, project
 * API keys (and a revoked one), a tampered artifact, tenant scope, run records and idempotency.
 * Every response is validated against its spec by the test stack.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, hold, ledger, run, wallet, waitFor, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;
let gw: string;

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  cp = stack.url('control-plane');
  gw = stack.url('gateway');
});
after(async () => stack?.close());

test('T3: a run answers the built-in runtime\'s deterministic output with usage and billing, and the wallet drops by exactly the credits charged', async () => {
  const ann = await buyer(stack, 'ann@example.com');
  const instanceId = await activeInstance(stack, ann);
  const before = await wallet(stack, ann);

  const sent = performance.now();
  const first = await run(stack, { token: ann.token, instanceId, text: 'How long do I have to return an item?', headers: { 'x-request-id': 'req-t3-first' } });
  const elapsedMs = performance.now() - sent;
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.headers.get('x-request-id'), 'req-t3-first');
  const r = first.body;
  assert.match(r.runId, /^run_[A-Za-z0-9]+$/);
  assert.equal(r.status, 'succeeded');
  assert.equal(r.instanceId, instanceId);
  assert.match(r.output.text, /return an item/);
  assert.ok(r.usage.dimensions.tokens_in > 0 && r.usage.dimensions.tokens_out > 0, JSON.stringify(r.usage));
  assert.equal(r.usage.dimensions.chat_runs, 1, 'a user run counts as a chat run');
  assert.equal(r.usage.dimensions.runs, undefined);
  assert.ok(r.billing.creditsCharged > 0);
  assert.match(r.billing.reservationId, /^res_/);
  assert.match(r.billing.ledgerEntryId, /^led_/);

  const after = await wallet(stack, ann);
  assert.equal(after.balance, before.balance - r.billing.creditsCharged, 'balance drops by exactly the settled amount');
  assert.equal(after.reserved, before.reserved, 'the reservation is closed');
  assert.equal(r.billing.balance, after.balance);
  const debits = (await ledger(stack, ann)).filter((e) => e.runId === r.runId);
  assert.equal(-debits.reduce((n, e) => n + e.amount, 0), r.billing.creditsCharged, 'the ledger holds exactly the charge');

  const overhead = Number(first.headers.get('x-gateway-overhead-ms'));
  // A consistency check, not a performance bound: the gateway's part cannot exceed what the client waited.
  assert.ok(Number.isFinite(overhead) && overhead >= 0 && overhead <= elapsedMs, `overhead ${overhead} vs ${elapsedMs} ms seen by the client`);
  const timing = Object.fromEntries((first.headers.get('server-timing') ?? '').split(', ').map((p) => [p.split(';')[0], Number(p.split('dur=')[1])]));
  assert.ok(timing.runner! > 0 && timing.controlplane! > 0, `Server-Timing ${first.headers.get('server-timing')}`);
  assert.ok(Math.abs(timing.gateway! + timing.controlplane! - overhead) < 0.01, 'overhead = the gateway\'s own work + waiting for the control plane');

  const second = await run(stack, { token: ann.token, instanceId, text: 'How long do I have to return an item?' });
  assert.equal(second.status, 200);
  assert.equal(second.body.output.text, r.output.text, 'the built-in model is deterministic');
  assert.notEqual(second.body.runId, r.runId);
});

test('T4/T5: once available credits are short, runs answer 403 INSUFFICIENT_CREDITS with balance and requiredBudget; a provisioner top-up unblocks them', async () => {
  const ben = await buyer(stack, 'ben@example.com');
  const instanceId = await activeInstance(stack, ben);
  const ent = (await http('GET', `${cp}/instances/${instanceId}/entitlements`, { token: ben.token })).body;
  const budget = ent.limits.estimatedBudgetPerRun;
  // Everything but two runs' budget is held by open reservations (other gateways' runs in flight).
  const w0 = await wallet(stack, ben);
  await hold(stack, instanceId, w0.available - 2 * budget);

  let refused;
  let runs = 0;
  for (let i = 0; i < 20 && !refused; i++) {
    const res = await run(stack, { token: ben.token, instanceId });
    if (res.status === 200) runs++;
    else refused = res;
  }
  assert.ok(refused, 'runs are eventually refused');
  assert.ok(runs >= 2, `${runs} runs went through before the wallet was short`);
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'INSUFFICIENT_CREDITS');
  const w1 = await wallet(stack, ben);
  assert.equal(refused.body.error.details.balance, w1.balance);
  assert.equal(refused.body.error.details.requiredBudget, budget);
  assert.ok(w1.available < budget);
  assert.ok(refused.headers.get('x-gateway-overhead-ms'), 'errors carry the overhead header too');

  const provisioner = await stack.serviceToken('provisioner');
  const topup = await http('POST', `${cp}/wallets/${ben.walletId}/topups`, {
    token: provisioner,
    headers: { 'idempotency-key': 'saleor:order-ben:line-1' },
    body: { amount: 100, creditType: 'paid', source: 'saleor', reference: 'saleor:order-ben:line-1' },
  });
  assert.equal(topup.status, 201, JSON.stringify(topup.body));
  const unblocked = await run(stack, { token: ben.token, instanceId });
  assert.equal(unblocked.status, 200, JSON.stringify(unblocked.body));
});

test('T12: past the plan\'s burst, runs answer 429 RATE_LIMITED with Retry-After, and a refused run charges nothing', async () => {
  const cleo = await buyer(stack, 'cleo@example.com');
  const instanceId = await activeInstance(stack, cleo, { planId: 'starter' });
  const ent = (await http('GET', `${cp}/instances/${instanceId}/entitlements`, { token: cleo.token })).body;
  assert.ok(ent.rateLimits.burst <= 10, `starter burst ${ent.rateLimits.burst}`);
  const answers = [];
  for (let i = 0; i < ent.rateLimits.burst + 1; i++) answers.push(await run(stack, { token: cleo.token, instanceId }));
  assert.deepEqual(answers.slice(0, -1).map((a) => a.status), Array(ent.rateLimits.burst).fill(200));
  const limited = answers.at(-1)!;
  assert.equal(limited.status, 429, JSON.stringify(limited.body));
  assert.equal(limited.body.error.code, 'RATE_LIMITED');
  const retryAfter = Number(limited.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.equal(limited.body.error.details.retryAfterSeconds, retryAfter);
  assert.ok(Number(answers[0]!.headers.get('x-ratelimit-remaining')) >= 0);
  const charged = answers.slice(0, -1).reduce((n, a) => n + a.body.billing.creditsCharged, 0);
  const debits = (await ledger(stack, cleo)).filter((e) => e.kind === 'debit').reduce((n, e) => n - e.amount, 0);
  assert.equal(debits, charged, 'only the runs that went through were charged');
  const metrics = String((await http('GET', `${gw}/metrics`)).body);
  assert.match(metrics, /gateway_rate_limited_total\{[^}]*scope="instance"[^}]*\} [1-9]/);
});

test('runs on a paused instance answer 403 NOT_ENTITLED at once (cached entitlements are dropped) and charge nothing; resumed, it runs again', async () => {
  const dan = await buyer(stack, 'dan@example.com');
  const instanceId = await activeInstance(stack, dan);
  assert.equal((await run(stack, { token: dan.token, instanceId })).status, 200, 'entitlements are now cached');
  const before = await wallet(stack, dan);
  const paused = await http('POST', `${cp}/instances/${instanceId}/pause`, { token: dan.token, body: {} });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  const refused = await run(stack, { token: dan.token, instanceId });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'NOT_ENTITLED');
  assert.deepEqual(await wallet(stack, dan), before, 'nothing reserved, nothing charged');
  await http('POST', `${cp}/instances/${instanceId}/resume`, { token: dan.token, body: {} });
  assert.equal((await run(stack, { token: dan.token, instanceId })).status, 200);
});

test('20 concurrent runs on a nearly empty wallet never overspend: the balance never goes negative and what was charged is exactly the ledger', async () => {
  const eve = await buyer(stack, 'eve@example.com');
  const instanceId = await activeInstance(stack, eve);
  const ent = (await http('GET', `${cp}/instances/${instanceId}/entitlements`, { token: eve.token })).body;
  const budget = ent.limits.estimatedBudgetPerRun;
  const w0 = await wallet(stack, eve);
  const held = w0.available - (3 * budget + Math.floor(budget / 2));
  await hold(stack, instanceId, held);
  const start = await wallet(stack, eve);

  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => run(stack, { token: eve.token, instanceId, text: `question ${i}` })));
  const ok = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status !== 200);
  // A run holds its per-run maximum (maxCreditsPerRun, capped at what is available), so the
  // first runs in take the wallet's last credits; the rest are refused before running — for
  // credits, or at the plan's concurrent-run limit — and never run on credit they don't have.
  assert.ok(ok.length >= 1, `${ok.length} runs succeeded`);
  for (const a of refused) {
    const expected = a.status === 429 ? 'CONCURRENCY_LIMIT_EXCEEDED' : 'INSUFFICIENT_CREDITS';
    assert.ok(a.status === 403 || a.status === 429, JSON.stringify(a.body));
    assert.equal(a.body.error.code, expected);
  }
  for (const a of ok) assert.ok(a.body.billing.balance >= 0 && a.body.billing.available >= 0);
  const charged = ok.reduce((n, a) => n + a.body.billing.creditsCharged, 0);
  const end = await wallet(stack, eve);
  assert.equal(end.balance, start.balance - charged, 'balance = start − what the answers say was charged');
  assert.equal(end.reserved, held, 'every run reservation is closed; only the hold remains');
  assert.ok(end.balance >= 0 && end.available >= 0);
  const runIds = new Set(ok.map((a) => a.body.runId));
  const debits = (await ledger(stack, eve)).filter((e) => runIds.has(e.runId));
  assert.equal(-debits.reduce((n, e) => n + e.amount, 0), charged, 'charged = the ledger');
  assert.equal((await ledger(stack, eve)).reduce((n, e) => n + e.amount, 0), end.balance, 'balance = sum of the ledger');
});

test('a project API key runs an instance that allows API keys (counted as an API run); once revoked it answers 401 within the entitlements cache time', async () => {
  const fay = await buyer(stack, 'fay@example.com');
  const instanceId = await activeInstance(stack, fay);
  const created = await http('POST', `${cp}/projects/${fay.projectId}/api-keys`, { token: fay.token, body: { name: 'backend' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const key = created.body.secret;

  const ok = await run(stack, { apiKey: key, instanceId });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.usage.dimensions.api_runs, 1);
  assert.equal((await http('GET', `${gw}/v1/runs/${ok.body.runId}`, { headers: { 'x-api-key': key } })).status, 200, 'the key reads its project\'s run');

  const malformed = await run(stack, { apiKey: 'not-a-key', instanceId });
  assert.equal(malformed.status, 401);

  const revoked = await http('POST', `${cp}/projects/${fay.projectId}/api-keys/${created.body.apiKey.id}/revoke`, { token: fay.token, body: {} });
  assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
  const refused = await waitFor('revoked key refused', async () => {
    const r = await run(stack, { apiKey: key, instanceId });
    return r.status === 200 ? undefined : r;
  }, 7000, 700);
  assert.equal(refused.status, 401, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'UNAUTHENTICATED');
});

test('a tampered artifact is refused: the Runner\'s ARTIFACT_INTEGRITY_FAILED surfaces, the reservation is voided and nothing is charged', async () => {
  // The docs agent's flow is run by no other test in this file: the Runner has not cached its verified bytes.
  const gil = await buyer(stack, 'gil@example.com');
  const instanceId = await activeInstance(stack, gil, { slug: 'docs-knowledge-agent' });
  const ent = (await http('GET', `${cp}/instances/${instanceId}/entitlements`, { token: gil.token })).body;
  const file = findFile(join(stack.config.dataDir, 'objects', 'data'), `${ent.artifact.sha256}.json`);
  const original = readFileSync(file);
  writeFileSync(file, Buffer.concat([original.subarray(0, original.length - 1), Buffer.from(' }')]));
  try {
    const before = await wallet(stack, gil);
    const refused = await run(stack, { token: gil.token, instanceId });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'ARTIFACT_INTEGRITY_FAILED');
    assert.equal(refused.body.error.details.charged, false);
    const reservation = await http('GET', `${cp}/billing/reservations/${refused.body.error.details.reservationId}`, { token: await stack.serviceToken('gateway') });
    assert.equal(reservation.body.status, 'voided', JSON.stringify(reservation.body));
    assert.deepEqual(await wallet(stack, gil), before, 'nothing charged, nothing held');
    const record = await http('GET', `${gw}/v1/runs/${refused.body.error.details.runId}`, { token: gil.token });
    assert.equal(record.body.status, 'failed');
    assert.equal(record.body.error.code, 'ARTIFACT_INTEGRITY_FAILED');
    const metrics = String((await http('GET', `${gw}/metrics`)).body);
    assert.match(metrics, /gateway_runs_total\{[^}]*outcome="runner_failed",channel="user",code="ARTIFACT_INTEGRITY_FAILED"[^}]*\} 1/);
  } finally {
    writeFileSync(file, original);
  }
});

test('another tenant\'s instance answers 404 (as a run and as a run record); a service token may not run', async () => {
  const hal = await buyer(stack, 'hal@example.com');
  const instanceId = await activeInstance(stack, hal);
  const mine = await run(stack, { token: hal.token, instanceId });
  const mallory = await buyer(stack, 'mallory@example.com');
  const r = await run(stack, { token: mallory.token, instanceId });
  assert.equal(r.status, 404, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'NOT_FOUND');
  assert.equal((await http('GET', `${gw}/v1/runs/${mine.body.runId}`, { token: mallory.token })).status, 404);
  assert.equal((await http('GET', `${gw}/v1/runs/${mine.body.runId}`, { token: hal.token })).status, 200);
  assert.equal((await http('GET', `${gw}/v1/runs/run_UNKNOWN000000000000`, { token: hal.token })).status, 404);
  const svc = await run(stack, { token: await stack.serviceToken('gateway'), instanceId });
  assert.equal(svc.status, 403, JSON.stringify(svc.body));
  const none = await run(stack, { instanceId });
  assert.equal(none.status, 401);
  assert.ok(none.headers.get('x-gateway-overhead-ms'), 'refusals before the handler carry the overhead header');
});

test('input over the instance\'s maxInputChars answers 413 INPUT_TOO_LARGE with the limit, before anything is reserved', async () => {
  const ida = await buyer(stack, 'ida@example.com');
  const instanceId = await activeInstance(stack, ida);
  const ent = (await http('GET', `${cp}/instances/${instanceId}/entitlements`, { token: ida.token })).body;
  const before = await wallet(stack, ida);
  const r = await run(stack, { token: ida.token, instanceId, text: 'x'.repeat(ent.limits.maxInputChars + 1) });
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'INPUT_TOO_LARGE');
  assert.equal(r.body.error.details.maxInputChars, ent.limits.maxInputChars);
  assert.deepEqual(await wallet(stack, ida), before);
});

test('an Idempotency-Key replays the first run (charged once); the same key with another input is a 409', async () => {
  const jo = await buyer(stack, 'jo@example.com');
  const instanceId = await activeInstance(stack, jo);
  const first = await run(stack, { token: jo.token, instanceId, headers: { 'idempotency-key': 'client-retry-1' } });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.headers.get('idempotent-replayed'), 'false');
  const before = await wallet(stack, jo);
  const again = await run(stack, { token: jo.token, instanceId, headers: { 'idempotency-key': 'client-retry-1' } });
  assert.equal(again.status, 200);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(again.body, first.body);
  assert.deepEqual(await wallet(stack, jo), before, 'the replay charged nothing');
  const other = await run(stack, { token: jo.token, instanceId, text: 'something else', headers: { 'idempotency-key': 'client-retry-1' } });
  assert.equal(other.status, 409);
  assert.equal(other.body.error.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
});

function findFile(dir: string, name: string): string {
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) {
      try {
        return findFile(p, name);
      } catch {
        continue;
      }
    }
    if (entry === name) return p;
  }
  throw new Error(`${name} not found under ${dir}`);
}
