/**
 * The trial path over HTTP: a freshly signed-in buyer reaches a first result in three gateway
 * calls (workspace, trial activation, run), idempotently.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { publishedVersion } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let gw: string;

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  gw = stack.url('gateway');
});
after(async () => stack?.close());

test('a fresh user gets from sign-in to a first result in three calls: workspace, trial activation, run', async () => {
  const token = await stack.userToken('newcomer@example.com');
  const { offeringId } = await publishedVersion(stack, 'support-assistant'); // browsing the catalog needs no call to the gateway

  const ws = await http('POST', `${gw}/v1/workspaces/auto`, { token, body: { name: "Newcomer's workspace" } });
  assert.equal(ws.status, 201, JSON.stringify(ws.body));
  assert.equal(ws.body.created, true);
  assert.equal(ws.body.org.name, "Newcomer's workspace");
  assert.equal(ws.body.org.personal, true);
  assert.ok(ws.body.wallet.balance > 0, 'starter credits');
  assert.equal(ws.body.wallet.balance, ws.body.wallet.grantedBalance);

  const activated = await http('POST', `${gw}/v1/instances/autoActivate`, { token, body: { offeringId } });
  assert.equal(activated.status, 200, JSON.stringify(activated.body));
  assert.equal(activated.body.ready, true);
  assert.equal(activated.body.created, true);
  assert.equal(activated.body.instance.state, 'active');
  assert.equal(activated.body.instance.planId, 'starter');
  assert.equal(activated.body.instance.projectId, ws.body.project.id);
  assert.equal(activated.body.wallet.id, ws.body.wallet.id);

  const first = await http('POST', `${gw}/v1/runs`, { token, body: { instanceId: activated.body.instance.id, input: { text: 'Hello! What can you do?' } } });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.ok(first.body.output.text.length > 0);
  assert.ok(first.body.billing.creditsCharged > 0);

  const again = await http('POST', `${gw}/v1/workspaces/auto`, { token, body: {} });
  assert.equal(again.status, 200);
  assert.equal(again.body.created, false);
  assert.equal(again.body.org.id, ws.body.org.id);
});

test('autoActivate is idempotent per user, offering version, plan and project, and creates the workspace when missing', async () => {
  const token = await stack.userToken('second@example.com');
  const { offeringId, versionId } = await publishedVersion(stack, 'support-assistant');
  const one = await http('POST', `${gw}/v1/instances/autoActivate`, { token, body: { offeringId, planId: 'starter', waitSeconds: 5 } });
  assert.equal(one.status, 200, JSON.stringify(one.body));
  const two = await http('POST', `${gw}/v1/instances/autoActivate`, { token, body: { offeringVersionId: versionId } });
  assert.equal(two.status, 200, JSON.stringify(two.body));
  assert.equal(two.body.instance.id, one.body.instance.id, 'the same trial instance');
  assert.equal(two.body.created, false);

  const other = await http('POST', `${gw}/v1/instances/autoActivate`, { token: await stack.userToken('third@example.com'), body: { offeringId } });
  assert.notEqual(other.body.instance.id, one.body.instance.id, 'another user gets their own');
});

test('autoActivate starts only trial plans: a sold plan is 403 PLAN_REQUIRES_PURCHASE', async () => {
  const token = await stack.userToken('freeloader@example.com');
  const { offeringId } = await publishedVersion(stack, 'support-assistant');
  for (const planId of ['pro', 'enterprise']) {
    const r = await http('POST', `${gw}/v1/instances/autoActivate`, { token, body: { offeringId, planId, waitSeconds: 0 } });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'PLAN_REQUIRES_PURCHASE');
  }
});

test('autoActivate without waiting answers 202 while the instance is provisioning', async () => {
  const token = await stack.userToken('impatient@example.com');
  const { offeringId } = await publishedVersion(stack, 'docs-knowledge-agent');
  const r = await http('POST', `${gw}/v1/instances/autoActivate`, { token, body: { offeringId, waitSeconds: 0 } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.ready, false);
  assert.notEqual(r.body.instance.state, 'active');
});

test('autoActivate refuses both or neither of offeringId and offeringVersionId (422), unknown offerings (404) and non-user callers', async () => {
  const token = await stack.userToken('careless@example.com');
  const { offeringId, versionId } = await publishedVersion(stack, 'support-assistant');
  const both = await http('POST', `${gw}/v1/instances/autoActivate`, { token, body: { offeringId, offeringVersionId: versionId } });
  assert.equal(both.status, 422);
  const neither = await http('POST', `${gw}/v1/instances/autoActivate`, { token, body: {} });
  assert.equal(neither.status, 422);
  const unknown = await http('POST', `${gw}/v1/instances/autoActivate`, { token, body: { offeringId: 'off_01M000000000000000000000' } });
  assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
  const service = await http('POST', `${gw}/v1/instances/autoActivate`, { token: await stack.serviceToken('gateway'), body: { offeringId } });
  assert.equal(service.status, 403);
});
