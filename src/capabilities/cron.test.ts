import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canFire, CronError, firesPerDay, parseCron } from './cron';

test('valid five-field expressions parse into the right sets', () => {
  const s = parseCron('*/15 9-17 * * MON-FRI');
  assert.deepEqual([...s.minutes], [0, 15, 30, 45]);
  assert.deepEqual([...s.hours], [9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.deepEqual([...s.daysOfWeek], [1, 2, 3, 4, 5]);
  assert.equal(s.dayOfMonthRestricted, false);
  assert.equal(s.dayOfWeekRestricted, true);
  assert.deepEqual([...parseCron('0 0 1 jan,Jul *').months], [1, 7]);
  assert.deepEqual([...parseCron('5/20 * * * *').minutes], [5, 25, 45]);
  assert.deepEqual([...parseCron('0 0 * * 7').daysOfWeek], [0], 'day-of-week 7 is Sunday');
  assert.deepEqual([...parseCron('0 0 * * 1-3,5').daysOfWeek], [1, 2, 3, 5]);
});

test('invalid expressions are refused with the field at fault', () => {
  const cases: [string, string][] = [
    ['60 * * * *', 'minute'],
    ['* 24 * * *', 'hour'],
    ['* * 0 * *', 'day-of-month'],
    ['* * * 13 *', 'month'],
    ['* * * * 8', 'day-of-week'],
    ['* * * * FUNDAY', 'day-of-week'],
    ['5-1 * * * *', 'minute'],
    ['*/0 * * * *', 'minute'],
    ['*/60 * * * *', 'minute'],
    ['0 0 L * *', 'day-of-month'],
    ['0 0 ? * *', 'day-of-month'],
    ['* * * *', 'expression'],
    ['* * * * * *', 'expression'],
    ['@daily', 'expression'],
    ['1,,2 * * * *', 'minute'],
  ];
  for (const [expr, field] of cases) {
    assert.throws(() => parseCron(expr), (e: unknown) => e instanceof CronError && e.field === field, expr);
  }
});

test('a schedule on a day no month has never fires', () => {
  assert.equal(canFire(parseCron('0 0 30 2 *')), false);
  assert.equal(canFire(parseCron('0 0 31 4,6,9,11 *')), false);
  assert.equal(canFire(parseCron('0 0 29 2 *')), true, 'leap years');
  assert.equal(canFire(parseCron('0 0 30 2 1')), true, 'day-of-week OR day-of-month');
});

test('fires per day counts minute × hour combinations', () => {
  assert.equal(firesPerDay(parseCron('* * * * *')), 1440);
  assert.equal(firesPerDay(parseCron('0,30 9-17 * * *')), 18);
  assert.equal(firesPerDay(parseCron('0 9 * * 1')), 1);
});
