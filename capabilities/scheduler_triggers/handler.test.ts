import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { schedulerTriggers } from './handler';

const ID = 'scheduler_triggers';

test('valid cron expressions in IANA time zones are valid', () => {
  assert.deepEqual(schedulerTriggers.validate(SAMPLE_CONFIGS[ID]), []);
});

test('invalid or never-firing cron expressions, unknown time zones and repeated names are refused', () => {
  const issues = schedulerTriggers.validate({
    schedules: [
      { name: 'a', cron: '61 * * * *' },
      { name: 'b', cron: '0 0 30 2 *' },
      { name: 'c', cron: '0 9 * * *', timezone: 'Mars/Olympus' },
      { name: 'a', cron: '0 9 * * *' },
    ],
  });
  assert.deepEqual(paths(issues), ['/schedules/3/name', '/schedules/0/cron', '/schedules/1/cron', '/schedules/2/timezone']);
  assert.match(issues[1]!.message, /minute value 61/);
  assert.match(issues[2]!.message, /never fires/);
});

test('enabled schedules firing more often than maxRunsPerDay are refused; disabled ones do not count', () => {
  assert.deepEqual(paths(schedulerTriggers.validate({ schedules: [{ name: 'every-minute', cron: '* * * * *' }], maxRunsPerDay: 100 })), ['/maxRunsPerDay']);
  assert.deepEqual(schedulerTriggers.validate({ schedules: [{ name: 'every-minute', cron: '* * * * *', enabled: false }], maxRunsPerDay: 100 }), []);
  assert.deepEqual(schedulerTriggers.validate({ schedules: [{ name: 'every-minute', cron: '* * * * *' }], maxRunsPerDay: 1440 }), []);
});

test('desired state: one ScheduledRun per schedule (disabled ones suspended) plus one for the webhook trigger', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = schedulerTriggers.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  assert.deepEqual(
    manifests.map((m) => [(m.spec as any).trigger, (m.spec as any).schedule ?? null, (m.spec as any).suspend]),
    [
      ['cron', '0 9 * * MON-FRI', false],
      ['cron', '*/30 * * * *', true],
      ['webhook', null, false],
    ],
  );
  assert.equal((manifests[0]!.spec as any).timeZone, 'Europe/Berlin');
  assert.equal((manifests[1]!.spec as any).timeZone, 'UTC');
  assertNoSecrets(manifests);
});

test('meter: 1 credit per scheduled or webhook-triggered run', () => {
  assert.equal(schedulerTriggers.meter({ scheduled_runs: 2 }), 2);
});
