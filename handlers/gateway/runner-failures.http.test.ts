/**
 * A failed run is never charged: with a scripted Runner that times out (504), fails (502) or is
 * unreachable, the gateway voids the reservation, answers the Runner's error, records the run as
 * timed out / failed and counts it; the wallet is untouched.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, run, wallet, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let runner: Server;
let stack: TestStack;
let who: Buyer;
let instanceId: string;
const seen: { requestId?: string; body: any }[] = [];

before(async () => {
  runner = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    const body = JSON.parse(raw);
    seen.push({ requestId: req.headers['x-request-id'] as string | undefined, body });
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const error = (status: number, code: string, message: string) => reply(status, { error: { code, message, traceId: req.headers['x-request-id'] } });
    if (body.input.text === 'slow') return error(504, 'DEPENDENCY_TIMEOUT', 'The run did not finish within its timeout');
    if (body.input.text === 'broken') return error(502, 'RUNTIME_ERROR', 'The flow raised an error');
    reply(200, { runId: body.runId, output: { text: 'fine' }, usage: { dimensions: { tokens_in: 10, tokens_out: 5, runs: 1 } }, runtime: { name: 'builtin', flowId: body.flowId, attempts: 1 }, durationMs: 1 });
  });
  await new Promise<void>((r) => runner.listen(0, '127.0.0.1', r));
  const runnerUrl = `http://127.0.0.1:${(runner.address() as AddressInfo).port}`;
  stack = await startTestStack(['control-plane', 'gateway'], { SEED_DEMO: '1', RUNNER_BASE: runnerUrl });
  who = await buyer(stack, 'unlucky@example.com');
  instanceId = await activeInstance(stack, who);
});
after(async () => {
  await stack?.close();
  runner.closeAllConnections();
  await new Promise((r) => runner.close(r));
});

async function expectVoided(r: Awaited<ReturnType<typeof run>>, status: number, code: string, recordStatus: string, before: Awaited<ReturnType<typeof wallet>>) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code);
  assert.equal(r.body.error.details.charged, false);
  const reservation = await http('GET', `${stack.url('control-plane')}/billing/reservations/${r.body.error.details.reservationId}`, { token: await stack.serviceToken('gateway') });
  assert.equal(reservation.body.status, 'voided', JSON.stringify(reservation.body));
  assert.deepEqual(await wallet(stack, who), before, 'nothing charged, nothing held');
  const record = await http('GET', `${stack.url('gateway')}/v1/runs/${r.body.error.details.runId}`, { token: who.token });
  assert.equal(record.body.status, recordStatus);
  assert.ok(Number(r.headers.get('x-gateway-overhead-ms')) >= 0);
  assert.match(r.headers.get('server-timing') ?? '', /runner;dur=[0-9.]+/);
}

test('a Runner timeout answers 504 DEPENDENCY_TIMEOUT; the reservation is voided and nothing is charged', async () => {
  const before = await wallet(stack, who);
  const r = await run(stack, { token: who.token, instanceId, text: 'slow', headers: { 'x-request-id': 'req-slow-run' } });
  await expectVoided(r, 504, 'DEPENDENCY_TIMEOUT', 'timed_out', before);
  assert.equal(seen.at(-1)!.requestId, 'req-slow-run', 'the request id reaches the runner');
  assert.ok(seen.at(-1)!.body.timeoutMs <= 60_000);
  const metrics = String((await http('GET', `${stack.url('gateway')}/metrics`)).body);
  assert.match(metrics, /gateway_runs_total\{[^}]*outcome="runner_timeout"[^}]*\} 1/);
});

test('a Runner error answers 502 RUNTIME_ERROR; the reservation is voided and nothing is charged', async () => {
  const before = await wallet(stack, who);
  await expectVoided(await run(stack, { token: who.token, instanceId, text: 'broken' }), 502, 'RUNTIME_ERROR', 'failed', before);
});

test('the plan\'s limits.runTimeoutMs bounds the Runner request (30 s on the demo starter plan, 60 s on pro); its rateLimitPerMinute is the instance\'s rate limit', async () => {
  const starter = await activeInstance(stack, who, { planId: 'starter' });
  const ent = (await http('GET', `${stack.url('control-plane')}/instances/${starter}/entitlements`, { token: who.token })).body;
  assert.deepEqual([ent.limits.runTimeoutMs, ent.rateLimits.perMinute], [30_000, 10], 'the demo starter plan: runTimeoutMs 30000, rateLimitPerMinute 10');
  assert.equal((await run(stack, { token: who.token, instanceId: starter, text: 'quick' })).status, 200);
  assert.equal(seen.at(-1)!.body.timeoutMs, 30_000);
  assert.equal((await run(stack, { token: who.token, instanceId, text: 'quick' })).status, 200);
  assert.equal(seen.at(-1)!.body.timeoutMs, 60_000);
});

test('api_endpoint.timeoutMs lowers the run timeout below the plan\'s (never above it)', async () => {
  const short = await activeInstance(stack, who, { configOverrides: { api_endpoint: { timeoutMs: 5_000 } } });
  const ent = (await http('GET', `${stack.url('control-plane')}/instances/${short}/entitlements`, { token: who.token })).body;
  assert.equal(ent.limits.runTimeoutMs, 5_000);
  assert.equal((await run(stack, { token: who.token, instanceId: short, text: 'quick' })).status, 200);
  assert.equal(seen.at(-1)!.body.timeoutMs, 5_000, 'the Runner is given the instance\'s 5 s');
  const capped = await activeInstance(stack, who, { planId: 'starter', configOverrides: { api_endpoint: { timeoutMs: 45_000 } } });
  assert.equal((await run(stack, { token: who.token, instanceId: capped, text: 'quick' })).status, 200);
  assert.equal(seen.at(-1)!.body.timeoutMs, 30_000, 'the starter plan\'s 30 s stays the ceiling');
});

test('the Runner unreachable answers 503 RUNTIME_UNAVAILABLE; the reservation is voided and nothing is charged', async () => {
  assert.equal((await run(stack, { token: who.token, instanceId, text: 'fine' })).status, 200, 'runs work while the runner is up');
  const before = await wallet(stack, who);
  runner.closeAllConnections();
  await new Promise((r) => runner.close(r));
  await expectVoided(await run(stack, { token: who.token, instanceId, text: 'fine' }), 503, 'RUNTIME_UNAVAILABLE', 'failed', before);
});
