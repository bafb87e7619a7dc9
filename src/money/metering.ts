import type { Knex } from 'knex';
import { meterRun, type MeterRunResult } from '../capabilities/metering';
import { AppError } from '../platform/errors';

/**
 * What a run's usage costs on an instance: every capability of the instance's offering version
 * meters its own dimensions (registry rates, rounded up per capability), summed.
 */
export async function meterInstanceUsage(db: Knex | Knex.Transaction, instanceId: string, usage: Record<string, number | undefined>): Promise<MeterRunResult> {
  const row = await db('instances as i')
    .join('offering_versions as v', 'v.id', 'i.version_id')
    .select('v.capabilities')
    .where('i.id', instanceId)
    .first();
  if (!row) throw new AppError('NOT_FOUND', 'Instance not found');
  return meterCapabilities((row.capabilities as { id: string }[]).map((c) => c.id), usage);
}

/** What `usage` costs under these capabilities (an offering version's, already read). */
export function meterCapabilities(capabilityIds: string[], usage: Record<string, number | undefined>): MeterRunResult {
  const clean: Record<string, number> = {};
  for (const [k, v] of Object.entries(usage)) if (v !== undefined) clean[k] = v;
  try {
    return meterRun(capabilityIds, clean);
  } catch (err) {
    throw new AppError('UNPROCESSABLE', `Usage cannot be metered: ${(err as Error).message}`, { usage: clean });
  }
}
