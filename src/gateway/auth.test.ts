/** The gateway's caching token verifier: one signature check per token until it expires, failures never cached, bounded. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal, TokenVerifier } from '../identity';
import { AppError } from '../platform/errors';
import { cachingVerifier } from './auth';

const jwt = (exp: number, n = 0) => `h.${Buffer.from(JSON.stringify({ exp, sub: `u${n}` })).toString('base64url')}.s${n}`;

function countingVerifier(valid = true): TokenVerifier & { calls: number } {
  const v = {
    calls: 0,
    async verify(token: string): Promise<Principal> {
      v.calls++;
      if (!valid) throw new AppError('UNAUTHENTICATED', 'bad signature');
      return { kind: 'user', subject: token, realmRoles: [], clientRoles: {}, roles: new Set(), scopes: [] };
    },
  };
  return v;
}

test('a verified token is not verified again until it expires (at most 60 s)', async () => {
  let now = 1_000_000_000_000;
  const inner = countingVerifier();
  const v = cachingVerifier(inner, { now: () => now });
  const token = jwt(now / 1000 + 30);
  await v.verify(token);
  await v.verify(token);
  assert.equal(inner.calls, 1);
  now += 30_001;
  await v.verify(token);
  assert.equal(inner.calls, 2, 'expired: checked again (and refused by the real verifier)');
  const long = jwt(now / 1000 + 3600, 1);
  await v.verify(long);
  now += 60_001;
  await v.verify(long);
  assert.equal(inner.calls, 4, 'at most a minute, whatever exp says');
});

test('refused tokens are never remembered; the cache is bounded', async () => {
  const bad = countingVerifier(false);
  const v = cachingVerifier(bad);
  const token = jwt(Date.now() / 1000 + 300);
  await assert.rejects(v.verify(token));
  await assert.rejects(v.verify(token));
  assert.equal(bad.calls, 2);
  const inner = countingVerifier();
  const small = cachingVerifier(inner, { maxEntries: 2 });
  for (let i = 0; i < 3; i++) await small.verify(jwt(Date.now() / 1000 + 300, i));
  await small.verify(jwt(Date.now() / 1000 + 300, 0));
  assert.equal(inner.calls, 4, 'the oldest entry was dropped');
});
