import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { multimodalAudio } from './handler';

const ID = 'multimodal_audio';

test('speech-to-text, text-to-speech or both are valid', () => {
  assert.deepEqual(multimodalAudio.validate(SAMPLE_CONFIGS[ID]), []);
  assert.deepEqual(multimodalAudio.validate({ speechToText: false, textToSpeech: true }), []);
});

test('audio with both directions off is refused', () => {
  assert.deepEqual(paths(multimodalAudio.validate({ speechToText: false, textToSpeech: false })), ['/speechToText']);
});

test('desired state: a ConfigMap; voice settings only with text-to-speech', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = multimodalAudio.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  assert.equal(JSON.parse(manifests[0]!.data!['config.json']!).voice, 'warm');
  const plain = multimodalAudio.desiredState(testContext(effectiveConfig(ID).config));
  assert.equal(JSON.parse(plain[0]!.data!['config.json']!).voice, undefined);
  assertNoSecrets([...manifests, ...plain]);
});

test('meter: 1 credit per 10 seconds of audio, rounded up', () => {
  assert.equal(multimodalAudio.meter({ audio_seconds: 1 }), 1);
  assert.equal(multimodalAudio.meter({ audio_seconds: 10 }), 1);
  assert.equal(multimodalAudio.meter({ audio_seconds: 25 }), 3);
});
