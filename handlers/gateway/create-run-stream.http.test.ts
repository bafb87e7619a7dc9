/**
 * POST /v1/runs as Server-Sent Events, against a Runner double that speaks the Runner's SSE
 * contract (test/support/runner-double.ts): the event order and shapes, refusals before the first
 * byte as JSON, failures after it as a final `error` event, what a stream that ends badly is
 * charged (the Runner's reported usage, else an estimate of what was forwarded, voided when
 * nothing was), a client that goes away (the Runner request aborted), and huge usage (never more
 * than the hold).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, ledger, wallet, waitFor, type Buyer } from '../../test/support/gateway';
import { startRunnerDouble, type RunnerDouble } from '../../test/support/runner-double';
import { readEvents } from '../../test/support/sse';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let runner: RunnerDouble;
let stack: TestStack;
let who: Buyer;
let instanceId: string;

before(async () => {
  runner = await startRunnerDouble();
  stack = await startTestStack(['control-plane', 'gateway'], { SEED_DEMO: '1', RUNNER_BASE: runner.url });
  who = await buyer(stack, 'streamer@example.com');
  instanceId = await activeInstance(stack, who);
});
after(async () => {
  await stack?.close();
  await runner?.close();
});

function post(text: string, opts: { accept?: string; body?: Record<string, unknown>; signal?: AbortSignal; token?: string } = {}) {
  return fetch(`${stack.url('gateway')}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.token ?? who.token}`, 'content-type': 'application/json', ...(opts.accept === undefined ? { accept: 'text/event-stream' } : opts.accept ? { accept: opts.accept } : {}) },
    body: JSON.stringify({ instanceId, input: { text }, ...opts.body }),
    signal: opts.signal,
  });
}

async function record(runId: string, until = (r: any) => r.status !== 'running') {
  return waitFor('run record finished', async () => {
    const r = await http('GET', `${stack.url('gateway')}/v1/runs/${runId}`, { token: who.token });
    return r.status === 200 && until(r.body) ? r.body : undefined;
  });
}

test('a streamed run answers start, one delta per runner delta and done (the JSON answer\'s body); the wallet drops by exactly what done says', async () => {
  const before = await wallet(stack, who);
  const res = await post('words:5');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.ok(Number(res.headers.get('x-gateway-overhead-ms')) >= 0);
  const events = await readEvents(res);
  assert.deepEqual(events.map((e) => e.event), ['start', 'delta', 'delta', 'delta', 'delta', 'delta', 'done']);
  const [start, ...rest] = events;
  const done = rest.at(-1)!.data;
  assert.deepEqual(start!.data, { runId: done.runId, instanceId, sessionId: null });
  assert.equal(rest.slice(0, -1).map((e) => e.data.text).join(''), 'w0 w1 w2 w3 w4 ');
  assert.equal(done.status, 'succeeded');
  assert.equal(done.output.text, 'w0 w1 w2 w3 w4 ');
  assert.equal(done.usage.dimensions.chat_runs, 1);
  assert.ok(done.billing.creditsCharged > 0);
  const after = await wallet(stack, who);
  assert.equal(after.balance, before.balance - done.billing.creditsCharged);
  assert.equal(after.reserved, before.reserved, 'the hold is closed');
  assert.equal(runner.seen.at(-1)!.accept, 'text/event-stream', 'the gateway streams from the runner');
  const rec = await record(done.runId);
  assert.equal(rec.status, 'succeeded');
  assert.equal(rec.output.text, done.output.text);
  assert.equal(rec.billing.creditsCharged, done.billing.creditsCharged);
});

test('"stream": true streams without the Accept header; refusals before the first byte stay JSON errors with their status', async () => {
  const res = await post('words:2', { accept: '', body: { stream: true } });
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.deepEqual((await readEvents(res)).map((e) => e.event), ['start', 'delta', 'delta', 'done']);
  const unauth = await post('words:2', { token: 'not-a-token' });
  assert.equal(unauth.status, 401);
  assert.match(unauth.headers.get('content-type') ?? '', /json/);
  const ent = (await http('GET', `${stack.url('control-plane')}/instances/${instanceId}/entitlements`, { token: who.token })).body;
  const tooLong = await post('x'.repeat(ent.limits.maxInputChars + 1));
  assert.equal(tooLong.status, 413);
  assert.equal((await tooLong.json()).error.code, 'INPUT_TOO_LARGE');
});

test('a runner that refuses before its stream: start, then an error event; the hold is voided and nothing is charged', async () => {
  const before = await wallet(stack, who);
  const events = await readEvents(await post('refuse'));
  assert.deepEqual(events.map((e) => e.event), ['start', 'error']);
  assert.equal(events[1]!.data.error.code, 'ARTIFACT_INTEGRITY_FAILED');
  assert.ok(events[1]!.data.error.traceId);
  assert.deepEqual(await wallet(stack, who), before);
  const rec = await record(events[0]!.data.runId);
  assert.equal(rec.status, 'failed');
  assert.equal(rec.error.code, 'ARTIFACT_INTEGRITY_FAILED');
  assert.equal(rec.billing.creditsCharged, 0);
});

test('the runner\'s error event after output: a final error event, and the run is charged the usage the runner reported', async () => {
  const before = await wallet(stack, who);
  const events = await readEvents(await post('fail-after:3'));
  assert.deepEqual(events.map((e) => e.event), ['start', 'delta', 'delta', 'delta', 'error']);
  assert.equal(events.at(-1)!.data.error.code, 'RUNTIME_ERROR');
  const rec = await record(events[0]!.data.runId);
  assert.equal(rec.status, 'failed');
  assert.equal(rec.usage.dimensions.tokens_out, 3, 'the usage the runner reported');
  assert.ok(rec.billing.creditsCharged > 0);
  assert.equal((await wallet(stack, who)).balance, before.balance - rec.billing.creditsCharged);
});

test('the runner\'s error event with nothing consumed: the hold is voided, nothing charged', async () => {
  const before = await wallet(stack, who);
  const events = await readEvents(await post('fail-empty'));
  assert.deepEqual(events.map((e) => e.event), ['start', 'error']);
  const rec = await record(events[0]!.data.runId);
  assert.equal(rec.status, 'failed');
  assert.equal(rec.billing.creditsCharged, 0);
  assert.deepEqual(await wallet(stack, who), before);
});

test('a stream broken by the runner: a final error event, and the run is charged an estimate of what was forwarded', async () => {
  const events = await readEvents(await post('break:4'));
  assert.deepEqual(events.map((e) => e.event), ['start', 'delta', 'delta', 'delta', 'delta', 'error']);
  const rec = await record(events[0]!.data.runId);
  assert.equal(rec.status, 'failed');
  assert.equal(rec.output.text, 'w0 w1 w2 w3 ', 'the forwarded text is the output kept');
  assert.ok(rec.usage.dimensions.tokens_out >= 4, 'tokens of the forwarded text');
  assert.ok(rec.billing.creditsCharged > 0);
});

test('a client that goes away mid-stream stops the runner request and is charged for what was forwarded, never more than the hold', async () => {
  const before = await wallet(stack, who);
  const abort = new AbortController();
  const res = await post('slow:200', { signal: abort.signal });
  const events = await readEvents(res, { abort, stop: (_e, all) => all.filter((x) => x.event === 'delta').length >= 3 });
  const runId = events[0]!.data.runId;
  const rec = await record(runId);
  assert.equal(rec.status, 'cancelled');
  const seen = runner.seen.find((s) => s.body.runId === runId)!;
  await waitFor('the runner saw the disconnect', async () => (seen.aborted ? true : undefined));
  const forwarded = rec.output.text as string;
  assert.ok(forwarded.startsWith('w0 w1 w2 '), forwarded);
  assert.ok(forwarded.split(' ').length < 200, 'the runner was stopped before it finished');
  const reservation = (await http('GET', `${stack.url('control-plane')}/billing/reservations/${rec.billing.reservationId}`, { token: await stack.serviceToken('gateway') })).body;
  assert.equal(reservation.status, 'settled');
  assert.ok(rec.billing.creditsCharged > 0 && rec.billing.creditsCharged <= reservation.amount);
  const after = await wallet(stack, who);
  assert.equal(after.balance, before.balance - rec.billing.creditsCharged);
  assert.equal(after.reserved, before.reserved);
});

test('huge usage reported by the runner is charged exactly the hold (maxCreditsPerRun), flagged as overage, streamed or not', async () => {
  const ent = (await http('GET', `${stack.url('control-plane')}/instances/${instanceId}/entitlements`, { token: who.token })).body;
  for (const accept of ['text/event-stream', 'application/json']) {
    const before = await wallet(stack, who);
    const res = await post('huge', { accept });
    let runId: string;
    if (accept === 'application/json') {
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      runId = body.runId;
      assert.equal(body.billing.creditsCharged, ent.limits.maxCreditsPerRun);
      assert.equal(body.billing.overage, true);
    } else {
      const events = await readEvents(res);
      const done = events.at(-1)!.data;
      runId = done.runId;
      assert.equal(done.billing.creditsCharged, ent.limits.maxCreditsPerRun);
    }
    const seen = runner.seen.find((s) => s.body.runId === runId)!;
    assert.ok(seen.body.maxOutputTokens > 0 && seen.body.maxOutputTokens < 10_000_000, `maxOutputTokens ${seen.body.maxOutputTokens} derived from the hold`);
    const after = await wallet(stack, who);
    assert.equal(before.balance - after.balance, ent.limits.maxCreditsPerRun, 'never more than the hold');
    const debits = (await ledger(stack, who)).filter((e) => e.runId === runId);
    assert.equal(-debits.reduce((n, e) => n + e.amount, 0), ent.limits.maxCreditsPerRun);
  }
});
