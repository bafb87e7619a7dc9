/**
 * One run → one trace across the services, exported over OTLP/HTTP to a local receiver written
 * from the OTLP spec (test/support/otlp-receiver.ts): the gateway's run span is the root, the
 * Control Plane's and the Runner's server spans share its trace id, and the spans carry the
 * tenant, instance and run ids. An instance with traceSampleRate 0 exports nothing of its runs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, waitFor } from '../../../test/support/gateway';
import { startOtlpReceiver } from '../../../test/support/otlp-receiver';
import { http, startTestStack, type TestStack } from '../../../test/support/stack';
import { flushTracing, shutdownTracing } from './index';

let stack: TestStack;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;

before(async () => {
  receiver = await startOtlpReceiver();
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', SCHEDULER_ENABLED: 'false', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url });
});
after(async () => {
  await stack?.close();
  await shutdownTracing();
  await receiver?.close();
});

test('one run is one trace: gateway run span → control plane and runner spans, with tenant, instance and run ids', async () => {
  const ann = await buyer(stack, 'trace-ann@example.com');
  const instanceId = await activeInstance(stack, ann, { configOverrides: { observability: { traceSampleRate: 1 } } });
  const r = await http('POST', `${stack.url('gateway')}/v1/runs`, { token: ann.token, body: { instanceId, input: { text: 'Where is my order?' } } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const runId = r.body.runId;
  await flushTracing();
  const root = await waitFor('the run span', async () => receiver.spans.find((s) => s.name === 'run' && s.attributes['agentstore.run.id'] === runId), 10_000);
  assert.equal(root.service, 'gateway');
  assert.equal(root.parentSpanId, undefined, 'the run is the trace\'s root');
  assert.equal(root.attributes['agentstore.instance.id'], instanceId);
  assert.equal(root.attributes['agentstore.tenant.id'], ann.orgId);
  const trace = await waitFor('spans of every service', async () => {
    await flushTracing();
    const t = receiver.spans.filter((s) => s.traceId === root.traceId);
    return ['gateway', 'control-plane', 'runner'].every((svc) => t.some((s) => s.service === svc)) && t.some((s) => s.name === 'model') ? t : undefined;
  }, 10_000);
  const names = trace.map((s) => `${s.service}:${s.name}`);
  assert.ok(names.includes('control-plane:control-plane authorizeBudget'), names.join(', '));
  assert.ok(names.includes('control-plane:control-plane settleReservation'), names.join(', '));
  assert.ok(names.some((n) => n.startsWith('runner:runner ')), names.join(', '));
  assert.ok(names.includes('runner:model'), `the model call is a span: ${names.join(', ')}`);
  const ids = new Set(trace.map((s) => s.spanId));
  for (const s of trace) if (s !== root) assert.ok(s.parentSpanId && ids.has(s.parentSpanId), `${s.service}:${s.name} hangs under the run`);
  const authorize = trace.find((s) => s.name === 'control-plane authorizeBudget')!;
  assert.equal(authorize.attributes['agentstore.run.id'], runId);
});

test('traceSampleRate 0: the instance\'s runs export nothing', async () => {
  const ben = await buyer(stack, 'trace-ben@example.com');
  const instanceId = await activeInstance(stack, ben, { configOverrides: { observability: { traceSampleRate: 0 } } });
  const r = await http('POST', `${stack.url('gateway')}/v1/runs`, { token: ben.token, body: { instanceId, input: { text: 'Where is my order?' } } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await flushTracing();
  await new Promise((res) => setTimeout(res, 700));
  await flushTracing();
  assert.equal(receiver.spans.filter((s) => s.attributes['agentstore.run.id'] === r.body.runId || s.attributes['agentstore.instance.id'] === instanceId).length, 0);
});
