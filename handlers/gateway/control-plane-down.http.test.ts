/**
 * The Control Plane unreachable: the gateway fails closed. A gateway whose CP_BASE points at a
 * closed port answers 503 CONTROL_PLANE_UNAVAILABLE (canonical body, the request's traceId, the
 * overhead header) on runs, widget sessions and the trial path, and never calls the Runner.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { http, startTestStack, type HttpAnswer, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let gw: string;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

before(async () => {
  stack = await startTestStack(['runner', 'gateway'], { CP_BASE: `http://127.0.0.1:${await closedPort()}` });
  gw = stack.url('gateway');
});
after(async () => stack?.close());

const expectUnavailable = (r: HttpAnswer, traceId: string) => {
  assert.equal(r.status, 503, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'CONTROL_PLANE_UNAVAILABLE');
  assert.equal(r.body.error.traceId, traceId);
  assert.ok(r.headers.get('x-gateway-overhead-ms'));
};

test('runs fail closed with 503 CONTROL_PLANE_UNAVAILABLE when the control plane is unreachable', async () => {
  const token = await stack.userToken('stranded@example.com');
  const r = await http('POST', `${gw}/v1/runs`, { token, headers: { 'x-request-id': 'req-cp-down-run' }, body: { instanceId: 'inst_01M84VMZC6STMJ25SC5GW1SF9S', input: { text: 'hello' } } });
  expectUnavailable(r, 'req-cp-down-run');
  const key = await http('POST', `${gw}/v1/runs`, { headers: { 'x-api-key': `ask_01M84VMZC6STMJ25SC5GW1SF9S_${'a'.repeat(32)}`, 'x-request-id': 'req-cp-down-key' }, body: { instanceId: 'inst_01M84VMZC6STMJ25SC5GW1SF9S', input: { text: 'hello' } } });
  expectUnavailable(key, 'req-cp-down-key');
  const metrics = String((await http('GET', `${gw}/metrics`)).body);
  assert.match(metrics, /gateway_runs_total\{[^}]*outcome="control_plane_unavailable",channel="user"[^}]*\} 1/);
  assert.match(metrics, /gateway_control_plane_errors_total\{[^}]*operation="getInstanceEntitlements",kind="network"[^}]*\} [1-9]/);
});

test('widget sessions and the trial path fail closed too', async () => {
  const token = await stack.userToken('stranded@example.com');
  expectUnavailable(await http('POST', `${gw}/v1/widget/session:init`, { headers: { origin: 'https://shop.example', 'x-request-id': 'req-cp-down-widget' }, body: { instanceId: 'inst_01M84VMZC6STMJ25SC5GW1SF9S' } }), 'req-cp-down-widget');
  expectUnavailable(await http('POST', `${gw}/v1/workspaces/auto`, { token, headers: { 'x-request-id': 'req-cp-down-ws' }, body: {} }), 'req-cp-down-ws');
  expectUnavailable(await http('POST', `${gw}/v1/instances/autoActivate`, { token, headers: { 'x-request-id': 'req-cp-down-act' }, body: { offeringId: 'off_01M84VMT1A870YGAK9K6Y7JV5J' } }), 'req-cp-down-act');
});
