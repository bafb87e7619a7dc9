import type { SchedulerTriggersHandler } from '../../generated/capabilities/scheduler-triggers';

/**
 * Schedules and triggers: Runs the instance on a cron schedule or from an inbound webhook.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const schedulerTriggers: SchedulerTriggersHandler = {
  validate(config) {
    throw new Error('scheduler_triggers: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('scheduler_triggers: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('scheduler_triggers: meter not implemented');
  },
};
