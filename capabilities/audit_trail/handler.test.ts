import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { auditTrail } from './handler';

const ID = 'audit_trail';

test('the platform sink, or a webhook sink with an https URL, is valid', () => {
  assert.deepEqual(auditTrail.validate(SAMPLE_CONFIGS[ID]), []);
  assert.deepEqual(auditTrail.validate({ sink: 'platform' }), []);
});

test('a webhook sink without a URL, a URL for the platform sink and a non-https URL are refused', () => {
  assert.deepEqual(paths(auditTrail.validate({ sink: 'webhook' })), ['/webhookUrl']);
  assert.deepEqual(paths(auditTrail.validate({ sink: 'platform', webhookUrl: 'https://siem.acme.example/e' })), ['/webhookUrl']);
  assert.match(auditTrail.validate({ sink: 'webhook', webhookUrl: 'http://siem.acme.example/e' })[0]!.message, /https/);
});

test('desired state: a hash-chained AuditSink, delivering to the webhook when configured', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = auditTrail.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  const spec = manifests[0]!.spec as any;
  assert.equal(spec.hashChained, true);
  assert.deepEqual(spec.webhook, { url: 'https://siem.acme.example/agent-store/events' });
  assert.deepEqual(spec.record, { inputs: false, outputs: false });
  const platform = auditTrail.desiredState(testContext(effectiveConfig(ID).config));
  assert.equal((platform[0]!.spec as any).webhook, undefined);
  assertNoSecrets([...manifests, ...platform]);
});

test('meter: the audit trail is not metered', () => {
  assert.equal(auditTrail.meter({}), 0);
});
