import type { Entitlements } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';
import type { Wire } from '../platform/http/wire';

/**
 * End of life stops an offering's instances at the gateway: runs and widget sessions answer
 * 403 OFFERING_EOL (checked before the instance's own state, so the buyer learns why for good,
 * not "paused"). End of sale (`eos`) only stops new instances and orders.
 */
export function assertOfferingAlive(ent: Pick<Wire<Entitlements>, 'instanceId' | 'offeringId' | 'offeringLifecycle'>): void {
  if (ent.offeringLifecycle === 'eol') {
    throw new AppError('OFFERING_EOL', 'The offering has reached its end of life; its instances no longer run', { instanceId: ent.instanceId, offeringId: ent.offeringId });
  }
}
