/** Every registry capability has a handler, and its desired state stays within its registry kinds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capabilityHandlers } from '../generated/capabilities/handler-registry';
import { capabilityIds } from '../generated/capabilities/index';
import { effectiveConfig } from '../src/capabilities/effective-config';
import type { CapabilityHandler } from '../src/capabilities/handler-types';
import { capabilityRegistry } from '../src/capabilities/registry';
import { assertValidDesiredState, SAMPLE_CONFIGS, testContext } from '../src/capabilities/testing';

const handlerOf = (id: string) => (capabilityHandlers as Record<string, CapabilityHandler<any, string>>)[id];

test('every registry capability has a handler with validate, desiredState and meter', () => {
  const registry = capabilityRegistry();
  assert.deepEqual(Object.keys(capabilityHandlers).sort(), registry.capabilities.map((c) => c.id).sort());
  assert.deepEqual([...capabilityIds].sort(), Object.keys(capabilityHandlers).sort());
  for (const c of registry.capabilities) {
    const h = handlerOf(c.id);
    for (const fn of ['validate', 'desiredState', 'meter'] as const) assert.equal(typeof h?.[fn], 'function', `${c.id}.${fn}`);
  }
});

test('desired state only uses kinds listed in the capability\'s provisioning.kinds, and the sample configs use all of them', () => {
  for (const c of capabilityRegistry().capabilities) {
    const h = handlerOf(c.id);
    const emitted = new Set<string>();
    for (const overrides of [{}, SAMPLE_CONFIGS[c.id]]) {
      const { config, issues } = effectiveConfig(c.id, undefined, undefined, overrides);
      if (overrides === SAMPLE_CONFIGS[c.id]) assert.deepEqual(issues, [], `${c.id}: the sample config is valid`);
      const ctx = testContext(config);
      const manifests = h.desiredState(ctx);
      assertValidDesiredState(c.id, manifests, ctx);
      for (const m of manifests) emitted.add(m.kind);
    }
    assert.deepEqual([...emitted].sort(), [...c.provisioning.kinds].sort(), `${c.id}: kinds emitted vs registry provisioning.kinds`);
  }
});

test('desired state is deterministic: the same instance renders byte-identical manifests', () => {
  for (const id of capabilityIds) {
    const { config } = effectiveConfig(id, undefined, undefined, SAMPLE_CONFIGS[id]);
    const a = JSON.stringify(handlerOf(id).desiredState(testContext(config)));
    const b = JSON.stringify(handlerOf(id).desiredState(testContext(structuredClone(config))));
    assert.equal(a, b, id);
  }
});
