/**
 * The entitlements cache: one Control Plane call per (credential, instance) within the TTL,
 * never across credentials, only active answers kept, at most 5 s, dropped on invalidation
 * (including a fetch that was in flight), concurrent misses coalesced, bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entitlements } from '../../generated/control-plane/types';
import type { ControlPlaneClient, Credential } from './cp-client';
import { createEntitlementsCache, credentialKey } from './entitlements';

function fakeCp(answer: (instanceId: string, c: Credential) => Partial<Entitlements>, delayMs = 0) {
  const calls: { instanceId: string; credential: Credential }[] = [];
  const cp = {
    async getEntitlements(instanceId: string, credential: Credential) {
      calls.push({ instanceId, credential });
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return { instanceId, state: 'active', cacheTtlSeconds: 5, ...answer(instanceId, credential) } as Entitlements;
    },
  } as unknown as ControlPlaneClient;
  return { cp, calls };
}

const o = { requestId: 'r' };
const alice: Credential = { kind: 'bearer', token: 'alice-jwt' };
const bob: Credential = { kind: 'bearer', token: 'bob-jwt' };

test('answers are cached per credential and instance, for at most 5 s', async () => {
  let now = 0;
  const { cp, calls } = fakeCp(() => ({ cacheTtlSeconds: 300 }));
  const cache = createEntitlementsCache({ cp, now: () => now });
  await cache.get('inst_a', alice, o);
  await cache.get('inst_a', alice, o);
  assert.equal(calls.length, 1);
  await cache.get('inst_a', bob, o);
  assert.equal(calls.length, 2, 'another credential asks the control plane itself');
  await cache.get('inst_b', alice, o);
  assert.equal(calls.length, 3);
  now = 4_999;
  await cache.get('inst_a', alice, o);
  assert.equal(calls.length, 3);
  now = 5_001;
  await cache.get('inst_a', alice, o);
  assert.equal(calls.length, 4, 'capped at 5 s whatever cacheTtlSeconds says');
});

test('non-active answers are never cached, so a paused instance is re-read and a newly active one runs at once', async () => {
  let state: Entitlements['state'] = 'provisioning';
  const { cp, calls } = fakeCp(() => ({ state }));
  const cache = createEntitlementsCache({ cp });
  assert.equal((await cache.get('inst_a', alice, o)).state, 'provisioning');
  state = 'active';
  assert.equal((await cache.get('inst_a', alice, o)).state, 'active');
  assert.equal(calls.length, 2);
});

test('invalidate drops every credential\'s answer for the instance, and a fetch in flight at that moment is not stored', async () => {
  const { cp, calls } = fakeCp(() => ({}), 20);
  const cache = createEntitlementsCache({ cp });
  await cache.get('inst_a', alice, o);
  await cache.get('inst_a', bob, o);
  await cache.get('inst_b', alice, o);
  cache.invalidate('inst_a');
  assert.equal(cache.size, 1);
  const inFlight = cache.get('inst_a', alice, o);
  cache.invalidate('inst_a');
  await inFlight;
  await cache.get('inst_a', alice, o);
  assert.equal(calls.length, 5, 'the answer fetched across the invalidation was not kept');
});

test('concurrent misses share one request; the cache is bounded; keys never hold the credential', async () => {
  const { cp, calls } = fakeCp(() => ({}), 10);
  const cache = createEntitlementsCache({ cp, maxEntries: 3 });
  await Promise.all(Array.from({ length: 10 }, () => cache.get('inst_a', alice, o)));
  assert.equal(calls.length, 1);
  for (const id of ['inst_b', 'inst_c', 'inst_d', 'inst_e']) await cache.get(id, alice, o);
  assert.equal(cache.size, 3);
  assert.doesNotMatch(credentialKey(alice), /alice-jwt/);
  assert.equal(credentialKey({ kind: 'service' }), 'service');
});
