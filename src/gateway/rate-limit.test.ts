/** The in-process token buckets: burst, refill, Retry-After, all-or-nothing across buckets, bounded memory. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryRateLimiter } from './rate-limit';

test('a quiet bucket allows `burst` runs at once, then refuses with the seconds until the next token', async () => {
  let now = 0;
  const rl = createMemoryRateLimiter({ now: () => now });
  const spec = [{ key: 'inst_a', perMinute: 10, burst: 3 }];
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await rl.take(spec));
  assert.deepEqual(answers.slice(0, 3).map((a) => a.allowed && a.remaining), [2, 1, 0]);
  assert.deepEqual(answers[3], { allowed: false, retryAfterSeconds: 6, key: 'inst_a' });
  now = 5_999;
  assert.equal((await rl.take(spec)).allowed, false);
  now = 6_000;
  assert.equal((await rl.take(spec)).allowed, true, 'one token every 6 s at 10 per minute');
  now = 600_000;
  for (let i = 0; i < 3; i++) assert.equal((await rl.take(spec)).allowed, true, 'refilled up to burst, not beyond');
  assert.equal((await rl.take(spec)).allowed, false);
});

test('a run takes from all its buckets or none: the caller\'s limit refuses without spending the instance\'s tokens', async () => {
  const rl = createMemoryRateLimiter({ now: () => 0 });
  const instance = { key: 'inst_a', perMinute: 60, burst: 5 };
  const callerA = { key: 'inst_a:user:a', perMinute: 60, burst: 2 };
  const callerB = { key: 'inst_a:user:b', perMinute: 60, burst: 5 };
  assert.equal((await rl.take([instance, callerA])).allowed, true);
  assert.equal((await rl.take([instance, callerA])).allowed, true);
  const refused = await rl.take([instance, callerA]);
  assert.equal(refused.allowed, false);
  assert.equal(!refused.allowed && refused.key, 'inst_a:user:a');
  for (let i = 0; i < 3; i++) assert.equal((await rl.take([instance, callerB])).allowed, true, 'the instance kept 3 tokens for others');
  assert.equal((await rl.take([instance, callerB])).allowed, false);
});

test('memory stays bounded: least recently used buckets are dropped', async () => {
  const rl = createMemoryRateLimiter({ maxBuckets: 100 });
  for (let i = 0; i < 1000; i++) await rl.take([{ key: `inst_${i}`, perMinute: 1, burst: 1 }]);
  assert.equal(rl.size, 100);
});
