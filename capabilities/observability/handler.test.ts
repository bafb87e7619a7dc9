import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { observability } from './handler';

const ID = 'observability';

test('an https OTLP endpoint and a sample rate in [0, 1] are valid', () => {
  assert.deepEqual(observability.validate(SAMPLE_CONFIGS[ID]), []);
});

test('an OTLP endpoint over http, with credentials or on a private host, and a rate outside [0, 1] are refused', () => {
  assert.deepEqual(paths(observability.validate({ otlpEndpoint: 'http://otel.acme.example', traceSampleRate: 2 })), ['/traceSampleRate', '/otlpEndpoint']);
  assert.match(observability.validate({ otlpEndpoint: 'https://otel.acme.example/?api_key=1' })[0]!.message, /credentials/);
  assert.match(observability.validate({ otlpEndpoint: 'https://127.0.0.1:4318' })[0]!.message, /public host/);
});

test('desired state: an ObservabilityProfile, exporting over OTLP when configured', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = observability.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  const spec = manifests[0]!.spec as any;
  assert.deepEqual(spec.otlp, { endpoint: 'https://otel.acme.example/v1' });
  assert.deepEqual(spec.tracing, { sampleRate: 0.1 });
  assert.equal(spec.logLevel, 'debug');
  assertNoSecrets(manifests);
});

test('meter: observability is not metered', () => {
  assert.equal(observability.meter({}), 0);
});
