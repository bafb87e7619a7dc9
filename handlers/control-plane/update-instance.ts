import type { Handler } from '../../generated/control-plane/operations';
import { runInstanceAction } from '../../src/control-plane/instance-actions';

/** PATCH /instances/{instanceId} — name and config overrides (re-validated, re-committed). */
export const updateInstance: Handler<'updateInstance'> = runInstanceAction(200, 'update', (req) => {
  const b = (req.body ?? {}) as { name?: string; configOverrides?: Record<string, Record<string, unknown>> };
  return { name: b.name, configOverrides: b.configOverrides };
});
