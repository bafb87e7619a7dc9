import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { MAX_RUN_ATTACHMENT_BYTES, multimodalVision } from './handler';

const ID = 'multimodal_vision';

test('limits within the per-run attachment budget are valid', () => {
  assert.deepEqual(multimodalVision.validate(SAMPLE_CONFIGS[ID]), []);
  assert.deepEqual(multimodalVision.validate({ maxImagesPerRun: 4, maxImageBytes: MAX_RUN_ATTACHMENT_BYTES / 4 }), []);
});

test('images × bytes above the per-run attachment budget are refused', () => {
  assert.deepEqual(paths(multimodalVision.validate({ maxImagesPerRun: 20, maxImageBytes: 20971520 })), ['/maxImageBytes']);
});

test('desired state: a ConfigMap, with no PDF pages unless PDFs are accepted', () => {
  for (const [overrides, pages] of [[SAMPLE_CONFIGS[ID], 20], [{}, 0]] as const) {
    const { config } = effectiveConfig(ID, undefined, undefined, overrides);
    const ctx = testContext(config);
    const manifests = multimodalVision.desiredState(ctx);
    assertValidDesiredState(ID, manifests, ctx);
    assert.equal(JSON.parse(manifests[0]!.data!['config.json']!).maxPdfPages, pages);
    assertNoSecrets(manifests);
  }
});

test('meter: 5 credits per image or PDF page', () => {
  assert.equal(multimodalVision.meter({ images: 3 }), 15);
});
