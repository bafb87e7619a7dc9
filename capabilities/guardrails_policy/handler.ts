import type { GuardrailsPolicyHandler } from '../../generated/capabilities/guardrails-policy';

/**
 * Guardrails: Safety rules on inputs and outputs - blocked topics, PII handling, prompt-injection detection and output limits.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const guardrailsPolicy: GuardrailsPolicyHandler = {
  validate(config) {
    throw new Error('guardrails_policy: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('guardrails_policy: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('guardrails_policy: meter not implemented');
  },
};
