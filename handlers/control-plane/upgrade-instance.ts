import type { Handler } from '../../generated/control-plane/operations';
import type { UpgradeInstanceRequest } from '../../generated/control-plane/types';
import { runInstanceAction } from '../../src/control-plane/instance-actions';

/** POST /instances/{instanceId}/upgrade — to a newer certified version (default: the latest) and/or another plan. */
export const upgradeInstance: Handler<'upgradeInstance'> = runInstanceAction(202, 'upgrade', (req) => {
  const b = (req.body ?? {}) as UpgradeInstanceRequest;
  return { targetVersionId: b.targetVersionId, planId: b.planId, reason: b.reason };
});
