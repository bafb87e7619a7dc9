import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertValidDesiredState, HELPDESK_BINDING_ID, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { humanHandover } from './handler';

const ID = 'human_handover';

test('each provider with its destination is valid', () => {
  assert.deepEqual(humanHandover.validate(SAMPLE_CONFIGS[ID]), []);
  assert.deepEqual(humanHandover.validate({ provider: 'email', email: 'support@acme.example' }), []);
  assert.deepEqual(humanHandover.validate({ provider: 'webhook' }), [], 'the org\'s notification endpoint is the destination');
});

test('a provider without its destination, or with another provider\'s, is refused', () => {
  assert.deepEqual(paths(humanHandover.validate({ provider: 'email' })), ['/email']);
  assert.deepEqual(paths(humanHandover.validate({ provider: 'webhook', email: 'a@acme.example', bindingId: HELPDESK_BINDING_ID })), ['/email', '/bindingId']);
  assert.deepEqual(paths(humanHandover.validate({ provider: 'zendesk' })), ['/bindingId']);
  assert.deepEqual(paths(humanHandover.validate({ provider: 'email', email: 'a@acme.example', bindingId: HELPDESK_BINDING_ID })), ['/bindingId']);
});

test('triggers that can never fire and repeated keywords are refused', () => {
  assert.deepEqual(paths(humanHandover.validate({ provider: 'email', email: 'a@acme.example', triggers: { onUserRequest: false, onLowConfidence: false, keywords: [] } })), ['/triggers']);
  assert.deepEqual(paths(humanHandover.validate({ provider: 'email', email: 'a@acme.example', triggers: { keywords: ['Human', 'human ', ' '] } })), ['/triggers/keywords/2', '/triggers/keywords/1']);
});

test('desired state: a HandoverPolicy whose helpdesk credential is only a Secret reference', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = humanHandover.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  assert.deepEqual(manifests.map((m) => m.kind), ['HandoverPolicy', 'ExternalSecret']);
  const spec = manifests[0]!.spec as any;
  assert.equal(spec.provider, 'zendesk');
  assert.equal(spec.secretRef.name, (manifests[1]!.spec as any).target.name);
  assert.deepEqual(spec.triggers.keywords, ['human', 'agent']);
  assert.equal(spec.transcript.maxTurns, 50);
});

test('an email handover needs no secret', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, { provider: 'email', email: 'support@acme.example' });
  const ctx = testContext(config);
  const manifests = humanHandover.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  assert.deepEqual(manifests.map((m) => m.kind), ['HandoverPolicy']);
  assert.deepEqual((manifests[0]!.spec as any).destination, { email: 'support@acme.example' });
});

test('meter: 10 credits per handover', () => {
  assert.equal(humanHandover.meter({ handovers: 2 }), 20);
});
