import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReplayCache } from './replay-cache';

describe('ReplayCache', () => {
  test('concurrent duplicates share one execution; failures are not remembered; entries expire', async () => {
    let now = 0;
    const cache = new ReplayCache<number>(1000, 10, () => now);
    let runs = 0;
    const work = () => new Promise<number>((r) => setTimeout(() => r(++runs), 10));
    const [a, b] = await Promise.all([cache.run('s', 'k', { x: 1 }, work), cache.run('s', 'k', { x: 1 }, work)]);
    assert.equal(runs, 1);
    assert.equal(a.value, b.value);
    assert.deepEqual([a.replayed, b.replayed].sort(), [false, true]);
    await assert.rejects(cache.run('s', 'f', {}, () => Promise.reject(new Error('down'))));
    assert.equal((await cache.run('s', 'f', {}, async () => 7)).value, 7, 'a failure is not replayed');
    now = 2000;
    assert.equal((await cache.run('s', 'k', { x: 2 }, async () => 9)).replayed, false, 'expired keys are free again');
  });
});
