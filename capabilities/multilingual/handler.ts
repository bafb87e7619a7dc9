import type { MultilingualHandler } from '../../generated/capabilities/multilingual';

/**
 * Multilingual: Answers in the user's language, with detection and a fallback language.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const multilingual: MultilingualHandler = {
  validate(config) {
    throw new Error('multilingual: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('multilingual: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('multilingual: meter not implemented');
  },
};
