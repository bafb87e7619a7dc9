/**
 * An offering at end of life stops its instances: through the Gateway a run answers 403
 * OFFERING_EOL (within the entitlements cache time) and charges nothing, and the Control Plane's
 * authorize refuses the run itself whatever a gateway cached. End of sale keeps them running.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, publishedVersion, run, wallet, waitFor } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  cp = stack.url('control-plane');
});
after(async () => stack?.close());

test('eos keeps existing instances running; eol refuses them with 403 OFFERING_EOL and charges nothing', async () => {
  const eve = await buyer(stack, 'eve-eol@example.com');
  const instanceId = await activeInstance(stack, eve, { slug: 'docs-knowledge-agent', planId: 'starter' });
  assert.equal((await run(stack, { token: eve.token, instanceId })).status, 200);

  const { offeringId } = await publishedVersion(stack, 'docs-knowledge-agent');
  const publisher = await stack.userToken('publisher@example.com', ['publisher-admin']);
  const move = (to: string) => http('POST', `${cp}/offerings/${offeringId}/transitions`, { token: publisher, body: { to } });
  assert.equal((await move('eos')).status, 200);
  assert.equal((await run(stack, { token: eve.token, instanceId })).status, 200, 'end of sale: existing instances still run');
  assert.equal((await move('eol')).status, 200);

  const refused = await waitFor('OFFERING_EOL', async () => {
    const r = await run(stack, { token: eve.token, instanceId });
    return r.status === 403 ? r : undefined;
  }, 15_000, 250);
  assert.equal(refused.body.error.code, 'OFFERING_EOL', JSON.stringify(refused.body));
  const before = await wallet(stack, eve);
  assert.equal((await run(stack, { token: eve.token, instanceId })).body.error.code, 'OFFERING_EOL');
  assert.deepEqual(await wallet(stack, eve), before, 'nothing reserved, nothing charged');

  // The Control Plane refuses the hold itself (a gateway with stale entitlements gets no budget).
  const gw = await stack.serviceToken('gateway');
  const auth = await http('POST', `${cp}/billing/authorize`, { token: gw, body: { instanceId, runId: 'run_EOLTEST0001', run: { attemptId: 'att_eoltest0001', callerKind: 'user', callerSubject: 'user-eve-eol@example.com', input: { text: 'hi' } } } });
  assert.equal(auth.status, 403, JSON.stringify(auth.body));
  assert.equal(auth.body.error.code, 'OFFERING_EOL');
});
