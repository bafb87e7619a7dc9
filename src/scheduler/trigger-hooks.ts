import type { Knex } from 'knex';
import { runTriggerHooks } from '../capabilities/hooks/trigger-hooks';
import type { TriggerView } from '../capabilities/hook-types';
import { one } from '../db/tx';

/** The capabilities' onTrigger hooks for an instance's trigger: the run's input, or their refusal (thrown). */
export async function inputAfterTriggerHooks(db: Knex, instanceId: string, trigger: TriggerView): Promise<string> {
  const row = await one<{ effective_config: Record<string, unknown>; capabilities: { id: string }[] }>(
    db,
    `select i.effective_config, v.capabilities from instances i join offering_versions v on v.id = i.version_id where i.id = ?`,
    [instanceId],
  );
  if (!row) return trigger.input;
  return runTriggerHooks({ capabilities: row.capabilities.map((c) => c.id), config: row.effective_config as never }, trigger, instanceId);
}
