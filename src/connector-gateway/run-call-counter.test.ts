import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryRunCallCounter } from './run-call-counter';

test('a run gets exactly `limit` calls; other runs count on their own', () => {
  const c = new MemoryRunCallCounter();
  assert.deepEqual([1, 2, 3, 4].map(() => c.take('inst_a:run_1', 3).allowed), [true, true, true, false]);
  assert.equal(c.take('inst_a:run_1', 3).count, 3, 'a refused call does not count');
  assert.equal(c.take('inst_a:run_2', 3).allowed, true);
  assert.equal(c.take('inst_b:run_1', 3).allowed, true, 'the same run id on another instance is another run');
});

test('a run is forgotten after the ttl, and the oldest runs go first beyond `max`', () => {
  let now = 0;
  const c = new MemoryRunCallCounter(1000, 2, () => now);
  c.take('r1', 1);
  assert.equal(c.take('r1', 1).allowed, false);
  now = 1001;
  assert.equal(c.take('r1', 1).allowed, true, 'expired: counted afresh');
  c.take('r2', 1);
  c.take('r3', 1);
  assert.equal(c.take('r1', 1).allowed, true, 'r1 was evicted as the oldest of three');
});
