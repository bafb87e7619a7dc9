/**
 * observability.otlpEndpoint: an instance's runs are exported to its own OTLP/HTTP endpoint (a
 * local receiver written from the OTLP spec, test/support/otlp-receiver.ts, serving https for
 * public-looking names), with no platform collector configured:
 * - the instance with an endpoint: its run's trace (gateway run span, control plane and runner
 *   spans, one trace id) arrives there; an instance without one exports nothing;
 * - SSRF: an endpoint whose host resolves to a private address gets nothing (the guard refuses
 *   the connection) and the run is answered as usual;
 * - only a platform operator or the publisher sets it: a buyer's override is 422 CONFIG_FIELD_LOCKED.
 * Names resolve through a test resolver (public names to documentation-range public addresses,
 * then dialled on 127.0.0.1, as the connector gateway's tests do).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { guardedLookup } from '../net-guard';
import { activeInstance, buyer, run, waitFor, type Buyer } from '../../../test/support/gateway';
import { startOtlpReceiver } from '../../../test/support/otlp-receiver';
import { http, startTestStack, type TestStack } from '../../../test/support/stack';
import { flushTracing, shutdownTracing } from './index';

let stack: TestStack;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let who: Buyer;
const PUBLIC = 'otel.tenant.example';
const INTERNAL = 'otel.internal.example';
const addresses: Record<string, string> = { [PUBLIC]: '93.184.216.34', [INTERNAL]: '10.1.2.3' };

before(async () => {
  receiver = await startOtlpReceiver({ tlsHostnames: [PUBLIC, INTERNAL] });
  const resolver = async (host: string) => [{ address: addresses[host] ?? '192.0.2.1', family: 4 }];
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', SCHEDULER_ENABLED: 'false' }, {
    instanceExport: { lookup: guardedLookup(false, resolver, () => '127.0.0.1'), ca: receiver.ca },
  });
  who = await buyer(stack, 'own-collector@example.com');
});
after(async () => {
  await stack?.close();
  await shutdownTracing();
  await receiver?.close();
});

const endpointOf = (host: string) => `https://${host}:${receiver.port}/v1/traces`;
const spansOf = (instanceId: string) => {
  const traces = new Set(receiver.spans.filter((s) => s.attributes['agentstore.instance.id'] === instanceId).map((s) => s.traceId));
  return receiver.spans.filter((s) => traces.has(s.traceId));
};

test('the instance\'s run trace goes to its own endpoint; an instance without one exports nothing', async () => {
  const own = await activeInstance(stack, who, { configOverrides: { observability: { traceSampleRate: 1, otlpEndpoint: endpointOf(PUBLIC) } } });
  const plain = await activeInstance(stack, who, { configOverrides: { observability: { traceSampleRate: 1 } } });
  const r = await run(stack, { token: who.token, instanceId: own, text: 'Where is my order?' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await run(stack, { token: who.token, instanceId: plain })).status, 200);
  const spans = await waitFor('the run\'s spans at the instance\'s endpoint', async () => {
    await flushTracing();
    const s = spansOf(own);
    return s.some((x) => x.service === 'runner') && s.some((x) => x.name === 'run') ? s : undefined;
  }, 20_000, 200);
  const root = spans.find((s) => s.name === 'run' && s.service === 'gateway')!;
  assert.equal(root.attributes['agentstore.run.id'], r.body.runId);
  assert.ok(spans.every((s) => s.traceId === root.traceId), 'one trace');
  assert.ok(new Set(spans.map((s) => s.service)).has('control-plane'), 'the control plane\'s spans of the run follow');
  await flushTracing();
  assert.equal(spansOf(plain).length, 0, 'no endpoint, no platform collector: nothing exported');
});

test('SSRF: an endpoint resolving to a private address receives nothing; the run is answered as usual', async () => {
  const internal = await activeInstance(stack, who, { configOverrides: { observability: { traceSampleRate: 1, otlpEndpoint: endpointOf(INTERNAL) } } });
  const before = receiver.spans.length;
  const r = await run(stack, { token: who.token, instanceId: internal });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await flushTracing();
  await new Promise((res) => setTimeout(res, 1_000));
  assert.equal(receiver.spans.length, before, 'nothing reached the receiver through the private address');
});

test('a buyer cannot set otlpEndpoint: 422 CONFIG_FIELD_LOCKED naming it (the operator set it in the tests above)', async () => {
  const instanceId = await activeInstance(stack, who, { planId: 'starter' });
  const locked = await http('PATCH', `${stack.url('control-plane')}/instances/${instanceId}`, { token: who.token, body: { configOverrides: { observability: { otlpEndpoint: endpointOf(PUBLIC) } } } });
  assert.equal(locked.status, 422, JSON.stringify(locked.body));
  assert.equal(locked.body.error.code, 'CONFIG_FIELD_LOCKED');
  assert.deepEqual([locked.body.error.details.capability, locked.body.error.details.field], ['observability', '/otlpEndpoint']);
});
