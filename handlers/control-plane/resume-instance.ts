import type { Handler } from '../../generated/control-plane/operations';
import { runInstanceAction } from '../../src/control-plane/instance-actions';

/** POST /instances/{instanceId}/resume */
export const resumeInstance: Handler<'resumeInstance'> = runInstanceAction(200, 'resume', (req) => ({ reason: (req.body as { reason?: string } | undefined)?.reason }));
