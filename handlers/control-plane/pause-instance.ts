import type { Handler } from '../../generated/control-plane/operations';
import { runInstanceAction } from '../../src/control-plane/instance-actions';

/** POST /instances/{instanceId}/pause */
export const pauseInstance: Handler<'pauseInstance'> = runInstanceAction(200, 'pause', (req) => ({ reason: (req.body as { reason?: string } | undefined)?.reason }));
