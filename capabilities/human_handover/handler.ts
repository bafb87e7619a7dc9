import type { HumanHandoverHandler } from '../../generated/capabilities/human-handover';

/**
 * Human handover: Escalates a conversation to a human in your helpdesk (Zendesk, Freshdesk, Intercom, email or a webhook) with the transcript.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const humanHandover: HumanHandoverHandler = {
  validate(config) {
    throw new Error('human_handover: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('human_handover: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('human_handover: meter not implemented');
  },
};
