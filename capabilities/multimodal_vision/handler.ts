import type { MultimodalVisionHandler } from '../../generated/capabilities/multimodal-vision';

/**
 * Vision: Understands images and PDF pages sent with a run.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const multimodalVision: MultimodalVisionHandler = {
  validate(config) {
    throw new Error('multimodal_vision: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('multimodal_vision: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('multimodal_vision: meter not implemented');
  },
};
