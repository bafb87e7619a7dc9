import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /instances/{instanceId}/resume — not built yet: answers 501 NOT_IMPLEMENTED. */
export const resumeInstance: Handler<'resumeInstance'> = notImplemented('resumeInstance');
