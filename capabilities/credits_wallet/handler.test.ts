import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { creditsWallet } from './handler';

const ID = 'credits_wallet';

test('a per-run budget within the per-run maximum is valid', () => {
  assert.deepEqual(creditsWallet.validate(SAMPLE_CONFIGS[ID]), []);
  assert.deepEqual(creditsWallet.validate({ estimatedBudgetPerRun: 10, maxCreditsPerRun: 10 }), []);
});

test('a per-run budget above the per-run maximum is refused', () => {
  assert.deepEqual(paths(creditsWallet.validate({ estimatedBudgetPerRun: 11, maxCreditsPerRun: 10 })), ['/estimatedBudgetPerRun']);
});

test('desired state: an instance-wide GatewayPolicy with the credit budget and depletion policy', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = creditsWallet.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  const spec = manifests[0]!.spec as any;
  assert.equal(spec.scope, 'instance');
  assert.deepEqual(spec.credits, { estimatedBudgetPerRun: 30, maxCreditsPerRun: 400, depletionPolicy: 'allow_overage', lowBalanceThreshold: 100, notifyOnLowBalance: true });
  assertNoSecrets(manifests);
});

test('meter: the wallet itself is not metered', () => {
  assert.equal(creditsWallet.meter({}), 0);
});
