import type { ObservabilityHandler } from '../../generated/capabilities/observability';

/**
 * Observability: Correlated logs, metrics and traces for the instance's runs, optionally exported over OTLP.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const observability: ObservabilityHandler = {
  validate(config) {
    throw new Error('observability: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('observability: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('observability: meter not implemented');
  },
};
