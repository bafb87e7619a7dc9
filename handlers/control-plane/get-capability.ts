import type { Handler } from '../../generated/control-plane/operations';
import { getCapability as get } from '../../src/capabilities/catalog';
import { AppError } from '../../src/platform/errors';

/** GET /capabilities/{capabilityId} — one capability with its configSchema (for config forms). Public. */
export const getCapability: Handler<'getCapability'> = async (req) => {
  const capability = get(req.params.capabilityId);
  if (!capability) throw new AppError('NOT_FOUND', 'Capability not found');
  return { status: 200, body: capability };
};
