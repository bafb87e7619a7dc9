import type { Handler } from '../../generated/control-plane/operations';
import { runInstanceAction } from '../../src/control-plane/instance-actions';

/** POST /instances/{instanceId}/terminate */
export const terminateInstance: Handler<'terminateInstance'> = runInstanceAction(202, 'terminate', (req) => ({ reason: (req.body as { reason?: string } | undefined)?.reason }));
