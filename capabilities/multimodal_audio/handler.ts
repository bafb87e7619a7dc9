import type { MultimodalAudioHandler } from '../../generated/capabilities/multimodal-audio';

/**
 * Audio: Speech-to-text for voice input and text-to-speech for spoken answers.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const multimodalAudio: MultimodalAudioHandler = {
  validate(config) {
    throw new Error('multimodal_audio: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('multimodal_audio: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('multimodal_audio: meter not implemented');
  },
};
