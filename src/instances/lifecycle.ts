import type { InstanceState } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';

export type InstanceAction = 'pause' | 'resume' | 'upgrade' | 'rotate-secrets' | 'update' | 'terminate';

/**
 * Which states each day-2 action may start from. `requested → provisioning → active` is driven by
 * the GitOps writer and the deployment health reports, never by a caller.
 */
export const ACTION_FROM: Readonly<Record<InstanceAction, readonly InstanceState[]>> = {
  pause: ['active'],
  resume: ['paused'],
  upgrade: ['active', 'paused'],
  'rotate-secrets': ['provisioning', 'active', 'paused'],
  update: ['requested', 'provisioning', 'active', 'paused'],
  terminate: ['requested', 'provisioning', 'active', 'paused'],
};

/** The state an action leaves the instance in (upgrade/rotate/update keep it). */
export function stateAfter(action: InstanceAction, from: InstanceState): InstanceState {
  if (action === 'pause') return 'paused';
  if (action === 'resume') return 'active';
  if (action === 'terminate') return 'terminated';
  return from;
}

export function assertAction(action: InstanceAction, from: InstanceState): void {
  if (!ACTION_FROM[action].includes(from)) {
    throw new AppError('ILLEGAL_TRANSITION', `Cannot ${action} an instance that is ${from}`, {
      action,
      from,
      allowedFrom: [...ACTION_FROM[action]],
    });
  }
}
