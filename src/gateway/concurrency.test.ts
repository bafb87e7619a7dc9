/**
 * maxConcurrentRuns leases: a slot per run, given back on release, and lapsing at its expiry
 * when a gateway crashed without giving it back — in-process, and across two gateway replicas
 * on the real Redis (TEST_REDIS_URL; random key prefix).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createLogger } from '../platform/logger';
import { createMemoryConcurrencyLimiter, createRedisConcurrencyLimiter } from './concurrency';

describe('in-process leases', () => {
  it('grant up to the limit, give the slot back on release, and lapse at their expiry (a crashed run)', async () => {
    let now = 1_000;
    const l = createMemoryConcurrencyLimiter({ now: () => now });
    assert.deepEqual(await l.acquire('inst_a', 'run_1', 2, 1000), { acquired: true });
    assert.deepEqual(await l.acquire('inst_a', 'run_2', 2, 1000), { acquired: true });
    assert.deepEqual(await l.acquire('inst_a', 'run_3', 2, 1000), { acquired: false, active: 2 });
    assert.deepEqual(await l.acquire('inst_b', 'run_9', 2, 1000), { acquired: true }, 'per instance');
    await l.release('inst_a', 'run_1');
    assert.deepEqual(await l.acquire('inst_a', 'run_3', 2, 1000), { acquired: true });
    now += 1001; // run_2 and run_3 never released: their gateway died
    assert.equal(l.active('inst_a'), 0);
    assert.deepEqual(await l.acquire('inst_a', 'run_4', 2, 1000), { acquired: true });
  });
});

const url = process.env.TEST_REDIS_URL;
describe('leases on the real Redis, shared by two replicas', { skip: url ? false : 'TEST_REDIS_URL is not set' }, () => {
  it('count every replica\'s runs against one limit, and lapse when not given back', async () => {
    const log = createLogger({ level: 'silent' });
    const prefix = `cc-test-${randomBytes(4).toString('hex')}:`;
    const a = createRedisConcurrencyLimiter({ url: url!, log, prefix });
    const b = createRedisConcurrencyLimiter({ url: url!, log, prefix });
    try {
      assert.ok((await a.ready()) && (await b.ready()), 'redis is reachable');
      assert.deepEqual(await a.acquire('inst_x', 'run_1', 2, 300), { acquired: true });
      assert.deepEqual(await b.acquire('inst_x', 'run_2', 2, 300), { acquired: true });
      assert.deepEqual(await a.acquire('inst_x', 'run_3', 2, 300), { acquired: false, active: 2 });
      await b.release('inst_x', 'run_2');
      assert.deepEqual(await a.acquire('inst_x', 'run_3', 2, 300), { acquired: true });
      // Nobody releases run_1 and run_3 (their replica crashed): after the lease they lapse.
      await new Promise((r) => setTimeout(r, 400));
      assert.deepEqual(await b.acquire('inst_x', 'run_4', 2, 300), { acquired: true });
    } finally {
      await a.redis.del(`${prefix}{inst_x}`);
      await a.close();
      await b.close();
    }
  });
});
