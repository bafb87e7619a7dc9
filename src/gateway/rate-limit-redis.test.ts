/**
 * Shared rate limiting on the real Redis (TEST_REDIS_URL, e.g. redis://127.0.0.1:6379): two
 * gateway replicas share one instance's bucket, decisions are all-or-nothing across buckets, a
 * gateway stack with REDIS_URL answers 429 from Redis counters and hears lifecycle signals over
 * pub/sub. With TEST_REDIS_URL set and Redis unreachable these tests FAIL; without it the Redis
 * cases are skipped. The in-process fallback (Redis down) runs always.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../platform/logger';
import { activeInstance, buyer, run, waitFor } from '../../test/support/gateway';
import { http, startTestStack } from '../../test/support/stack';
import { createRedisRateLimiter } from './rate-limit-redis';

const url = process.env.TEST_REDIS_URL || undefined;
const log = createLogger({ level: 'silent' });
const prefix = `rl-test-${randomBytes(4).toString('hex')}:`;

describe('on the real Redis', { skip: url ? false : 'TEST_REDIS_URL is not set' }, () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  test('Redis is reachable (a set TEST_REDIS_URL that cannot be reached fails the suite)', async () => {
    const redis = new Redis(url!, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    closers.push(() => redis.quit().catch(() => redis.disconnect()));
    await redis.connect();
    assert.equal(await redis.ping(), 'PONG');
  });

  test('two gateway replicas share one instance bucket: together they get `burst` runs, then 429 with the wait', async () => {
    const a = createRedisRateLimiter({ url: url!, log, prefix });
    const b = createRedisRateLimiter({ url: url!, log, prefix });
    closers.push(() => a.close(), () => b.close());
    assert.ok((await a.ready()) && (await b.ready()), 'connected');
    const spec = [{ key: 'inst_shared', perMinute: 6, burst: 3 }];
    const answers = [await a.take(spec), await b.take(spec), await a.take(spec), await b.take(spec)];
    assert.deepEqual(answers.map((x) => x.allowed), [true, true, true, false]);
    assert.deepEqual(answers.slice(0, 3).map((x) => x.allowed && x.remaining), [2, 1, 0]);
    const refused = answers[3]!;
    assert.ok(!refused.allowed && refused.retryAfterSeconds >= 9 && refused.retryAfterSeconds <= 10, JSON.stringify(refused));
    const ttl = await a.redis.pttl(`${prefix}{inst_shared}`);
    assert.ok(ttl > 0 && ttl <= 31_000, `idle buckets expire (${ttl} ms)`);
  });

  test('a decision takes from all its buckets or none, atomically, and names the bucket that refused', async () => {
    const a = createRedisRateLimiter({ url: url!, log, prefix });
    closers.push(() => a.close());
    await a.ready();
    const instance = { key: 'inst_atomic', perMinute: 60, burst: 4 };
    const caller = { key: 'inst_atomic:user:u1', perMinute: 60, burst: 1 };
    assert.equal((await a.take([instance, caller])).allowed, true);
    const refused = await a.take([instance, caller]);
    assert.ok(!refused.allowed && refused.key === caller.key, JSON.stringify(refused));
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => a.take([instance])));
    assert.equal(concurrent.filter((x) => x.allowed).length, 3, 'the refused decision spent nothing; 3 tokens were left');
  });

  test('a gateway stack with REDIS_URL answers 429 from the shared counters and hears pause signals over pub/sub', async () => {
    const stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', REDIS_URL: url! });
    closers.push(() => stack.close());
    const who = await buyer(stack, 'redis@example.com');
    const instanceId = await activeInstance(stack, who, { planId: 'starter' });
    const { burst, perMinute } = (await http('GET', `${stack.url('control-plane')}/instances/${instanceId}/entitlements`, { token: who.token })).body.rateLimits;
    // Tokens refill while the runs are served, so on a slow machine a few more than `burst` may pass;
    // the bucket must still refuse once the runs outpace the refill it allows.
    const started = Date.now();
    const statuses: number[] = [];
    const refilled = () => Math.ceil(((Date.now() - started) / 60_000) * perMinute);
    while (statuses.at(-1) !== 429 && statuses.length <= burst + refilled()) statuses.push((await run(stack, { token: who.token, instanceId })).status);
    assert.deepEqual(statuses.slice(0, burst), Array(burst).fill(200));
    assert.equal(statuses.at(-1), 429, `refused once the burst and its refill (${refilled()}) were spent: ${statuses.join(',')}`);
    assert.ok(statuses.slice(0, -1).every((s) => s === 200), statuses.join(','));
    const redis = new Redis(url!);
    closers.push(() => redis.quit());
    assert.ok((await redis.exists(`rl:{${instanceId}}`)) === 1, 'the instance bucket lives in Redis');
    const metrics = String((await http('GET', `${stack.url('gateway')}/metrics`)).body);
    assert.match(metrics, /gateway_rate_limiter_fallbacks_total(\{[^}]*\})? 0/);

    // The pause is published after commit and reaches the gateway's subscriber a moment later:
    // well within a second, long before the 5 s the cached entitlements would otherwise live.
    await http('POST', `${stack.url('control-plane')}/instances/${instanceId}/pause`, { token: who.token, body: {} });
    const paused = Date.now();
    const refused = await waitFor('the pause to reach the gateway', async () => {
      const r = await run(stack, { token: who.token, instanceId });
      return r.status === 403 ? r : undefined;
    }, 1000, 20);
    assert.equal(refused.body.error.code, 'NOT_ENTITLED');
    assert.ok(Date.now() - paused < 1500, `heard ${Date.now() - paused} ms after the pause was answered`);
  });
});

test('Redis down: decisions fall back to this replica\'s in-process buckets (counted), runs are not blocked', async () => {
  let fallbacks = 0;
  const limiter = createRedisRateLimiter({ url: 'redis://127.0.0.1:1', log, onFallback: () => fallbacks++ });
  try {
    const spec = [{ key: 'inst_fallback', perMinute: 60, burst: 2 }];
    const answers = [await limiter.take(spec), await limiter.take(spec), await limiter.take(spec)];
    assert.deepEqual(answers.map((a) => a.allowed), [true, true, false]);
    assert.equal(fallbacks, 3);
  } finally {
    await limiter.close();
  }
});
