/**
 * `onTrigger`: called by the control plane's scheduler before a schedule or webhook trigger
 * starts a run, with each capability's effective config. A hook may change the run's input
 * (`{ input }`), refuse the run (422 `GUARDRAIL_BLOCKED`, nothing run or charged), or throw
 * (502 `CAPABILITY_ERROR`, nothing run).
 */
import type { Entitlements } from '../../../generated/control-plane/types';
import { isRefusal, type TriggerView } from '../hook-types';
import { capabilityError, hookedCapabilities, refusedBy } from './run-hooks';

type Hooked = ReturnType<typeof hookedCapabilities>[number];

/** The run's input after every capability's onTrigger hook. */
export async function runTriggerHooks(
  ent: Pick<Entitlements, 'capabilities' | 'config'>,
  trigger: TriggerView,
  instanceId: string,
  hooked: readonly Hooked[] = hookedCapabilities(ent, 'onTrigger'),
): Promise<string> {
  let input = trigger.input;
  for (const h of hooked) {
    let r: unknown;
    try {
      r = await h.hooks.onTrigger!({ ...trigger, input }, { config: h.config, instanceId });
    } catch (err) {
      throw capabilityError(h.id, 'onTrigger', err);
    }
    if (isRefusal(r)) throw refusedBy(h.id, r);
    if (r && typeof r === 'object' && typeof (r as { input?: unknown }).input === 'string') input = (r as { input: string }).input;
  }
  return input;
}
