/**
 * The decision cache of engine.ts: a decision is keyed by the whole request the engine sees, so
 * a changed role, another org, another caller kind or another action is a new decision — never
 * an answer made for someone else — and the same request again is answered from the cache.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Caller } from '../http/handler-types';
import { decide, decisionCacheStats, type ResolvedScope } from './engine';

const user = (subject: string): Caller => ({ kind: 'user', subject, roles: new Set(), scheme: 'bearerAuth' });
const wallet = (orgId: string, role?: string): ResolvedScope => ({ kind: 'wallet', id: `wal_${orgId}`, walletId: `wal_${orgId}`, orgId, projectId: `prj_${orgId}`, ...(role ? { role } : {}) });

test('a cached decision is only ever the answer to the same request', () => {
  const alice = user('alice');
  const hits = decisionCacheStats.hits;
  // updateWallet is for an org's admins and owners.
  assert.equal(decide(alice, 'updateWallet', wallet('org_a', 'member')).allow, false);
  assert.equal(decide(alice, 'updateWallet', wallet('org_a', 'admin')).allow, true, 'the role changed: decided again');
  assert.equal(decide(alice, 'updateWallet', wallet('org_b')).allow, false, 'another org, where she has no role');
  assert.equal(decide(alice, 'updateWallet', wallet('org_a', 'member')).allow, false, 'demoted again: the member answer');
  assert.equal(decide(user('bob'), 'updateWallet', wallet('org_a', 'member')).allow, false);
  assert.equal(decide(alice, 'getWallet', wallet('org_a', 'member')).allow, true, 'another action');
  const service: Caller = { kind: 'service', subject: 'svc-gateway', roles: new Set(['svc:gateway']), scheme: 'bearerAuth' };
  assert.equal(decide(service, 'updateWallet', wallet('org_a')).allow, false, 'a service is not an org admin');
  assert.equal(decisionCacheStats.hits - hits, 1, 'only the repeated request was answered from the cache');
});

test('a cached decision cannot be changed by whoever got it', () => {
  const d = decide(user('carol'), 'updateWallet', wallet('org_c', 'owner'));
  assert.equal(d.allow, true);
  assert.throws(() => {
    (d as { allow: boolean }).allow = false;
  });
  assert.equal(decide(user('carol'), 'updateWallet', wallet('org_c', 'owner')).allow, true);
});
