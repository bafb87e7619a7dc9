/**
 * When a schedule fires: the next slot of a five-field cron expression in an IANA time zone,
 * computed by cron-parser (daylight-saving gaps and repeats handled there). The expression was
 * validated with the same dialect by src/capabilities/cron.ts when the config was accepted
 * (Vixie cron: day-of-month OR day-of-week when both are restricted, as cron-parser does too).
 */
import { CronExpressionParser } from 'cron-parser';
import { createHash } from 'node:crypto';

/** The first slot strictly after `after`. */
export function nextSlot(cron: string, timezone: string, after: Date): Date {
  const expr = CronExpressionParser.parse(cron, { currentDate: after, tz: timezone });
  return expr.next().toDate();
}

/** A schedule's trigger id: stable per instance and schedule name, so every replica derives the same. */
export function scheduleTriggerId(instanceId: string, name: string): string {
  return `trg_${createHash('sha256').update(`schedule\n${instanceId}\n${name}`).digest('hex').slice(0, 24)}`;
}

/** The instance's webhook trigger id. */
export function webhookTriggerId(instanceId: string): string {
  return `trg_${createHash('sha256').update(`webhook\n${instanceId}`).digest('hex').slice(0, 24)}`;
}

/** The Idempotency-Key of a schedule's slot: a slot started twice (a lapsed lease re-fired) is one run. */
export function slotKey(triggerId: string, slot: Date): string {
  return `schedule:${triggerId}:${slot.toISOString()}`;
}
