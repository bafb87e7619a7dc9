import { schedulerTriggersMeta as meta, type SchedulerTriggersHandler } from '../../generated/capabilities/scheduler-triggers';
import { repeatedIndexes, timeZoneProblem } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import { canFire, firesPerDay, parseCron } from '../../src/capabilities/cron';
import type { ConfigIssue, Manifest } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/**
 * Schedules and triggers. Semantic rules:
 * - schedule names are unique; each cron is a valid five-field expression (src/capabilities/cron.ts)
 *   that can fire (`0 0 30 2 *` never does); each timezone is an IANA zone Intl knows;
 * - the enabled schedules together fire at most maxRunsPerDay times a day (a schedule that would
 *   be cut off by the daily cap is a configuration mistake, not a surprise at run time).
 * Desired state: one ScheduledRun per schedule (disabled ones suspended) and one for the webhook
 * trigger when it is on.
 */
export const schedulerTriggers: SchedulerTriggersHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const schedules = config.schedules ?? [];
    for (const i of repeatedIndexes(schedules, (s) => s.name)) issues.push({ path: pointer('schedules', i, 'name'), message: `repeats schedule ${schedules[i]!.name}` });
    let perDay = 0;
    schedules.forEach((s, i) => {
      try {
        const parsed = parseCron(s.cron);
        if (!canFire(parsed)) issues.push({ path: pointer('schedules', i, 'cron'), message: 'never fires (no month has that day)' });
        else if (s.enabled !== false) perDay += firesPerDay(parsed);
      } catch (err) {
        issues.push({ path: pointer('schedules', i, 'cron'), message: (err as Error).message });
      }
      if (s.timezone !== undefined) {
        const problem = timeZoneProblem(s.timezone);
        if (problem) issues.push({ path: pointer('schedules', i, 'timezone'), message: problem });
      }
    });
    if (config.maxRunsPerDay !== undefined && perDay > config.maxRunsPerDay) {
      issues.push({ path: pointer('maxRunsPerDay'), message: `the enabled schedules fire up to ${perDay} times a day, above maxRunsPerDay (${config.maxRunsPerDay})` });
    }
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    const manifests: Manifest[] = (c.schedules ?? []).map((s) =>
      instanceObject(
        ctx,
        meta.id,
        'ScheduledRun',
        {
          spec: {
            instanceId: ctx.instanceId,
            trigger: 'cron',
            schedule: s.cron.trim().split(/\s+/).join(' '),
            timeZone: s.timezone!,
            input: s.input!,
            suspend: s.enabled === false,
            maxRunsPerDay: c.maxRunsPerDay!,
            concurrencyPolicy: 'Forbid',
          },
        },
        { name: ['schedule', s.name] },
      ),
    );
    if (c.webhookTrigger) {
      manifests.push(
        instanceObject(
          ctx,
          meta.id,
          'ScheduledRun',
          { spec: { instanceId: ctx.instanceId, trigger: 'webhook', suspend: false, maxRunsPerDay: c.maxRunsPerDay!, concurrencyPolicy: 'Allow' } },
          { name: ['webhook'] },
        ),
      );
    }
    return manifests;
  },
  meter: meterBy(meta.dimensions),
};
