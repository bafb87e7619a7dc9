import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { apiEndpoint } from './handler';

const ID = 'api_endpoint';

test('a burst within the per-minute limit is valid', () => {
  assert.deepEqual(apiEndpoint.validate(SAMPLE_CONFIGS[ID]), []);
  assert.deepEqual(apiEndpoint.validate({ rateLimitPerMinute: 10, burst: 10 }), []);
});

test('a burst above the per-minute limit is refused', () => {
  assert.deepEqual(paths(apiEndpoint.validate({ rateLimitPerMinute: 10, burst: 11 })), ['/burst']);
});

test('desired state: a GatewayRoute for the API surface and the GatewayPolicy attached to it', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, { ...SAMPLE_CONFIGS[ID], allowApiKeys: false });
  const ctx = testContext(config);
  const manifests = apiEndpoint.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  const [route, policy] = manifests as [any, any];
  assert.equal(route.kind, 'GatewayRoute');
  assert.deepEqual(route.spec.auth, { oidc: true, apiKeys: false });
  assert.deepEqual(route.spec.upstream, { service: 'runner', timeoutMs: 60000 });
  assert.equal(policy.kind, 'GatewayPolicy');
  assert.deepEqual(policy.spec.targetRef, { group: 'platform.agentstore.dev', kind: 'GatewayRoute', name: route.metadata.name });
  assert.deepEqual(policy.spec.rateLimit, { requestsPerMinute: 120, burst: 20 });
  assert.equal(policy.spec.input.maxInputChars, 8000);
});

test('no credential from the context reaches the manifests', () => {
  const { config } = effectiveConfig(ID);
  assertNoSecrets(apiEndpoint.desiredState(testContext(config)));
});

test('meter: 1 credit per API run', () => {
  assert.equal(apiEndpoint.meter({ api_runs: 1 }), 1);
  assert.equal(apiEndpoint.meter({ api_runs: 0 }), 0);
});
