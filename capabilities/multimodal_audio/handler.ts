import { multimodalAudioMeta as meta, type MultimodalAudioHandler } from '../../generated/capabilities/multimodal-audio';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { configMap } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/**
 * Audio. Semantic rule: at least one of speechToText and textToSpeech is on (otherwise the
 * capability does nothing and still appears on the offering).
 * Desired state: a ConfigMap; voice and output format only when text-to-speech is on.
 */
export const multimodalAudio: MultimodalAudioHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    if (config.speechToText === false && config.textToSpeech === false) {
      issues.push({ path: pointer('speechToText'), message: 'speechToText or textToSpeech must be on' });
    }
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    return [
      configMap(ctx, meta.id, {
        speechToText: c.speechToText,
        textToSpeech: c.textToSpeech,
        acceptedMimeTypes: c.acceptedMimeTypes,
        maxAudioSeconds: c.maxAudioSeconds,
        ...(c.textToSpeech ? { voice: c.voice, outputFormat: c.outputFormat } : {}),
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
