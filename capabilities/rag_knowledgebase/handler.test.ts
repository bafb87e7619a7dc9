import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, KB_ID, paths, SAMPLE_CONFIGS, TEST_IDS, testContext } from '../../src/capabilities/testing';
import { ragKnowledgebase } from './handler';

const ID = 'rag_knowledgebase';

test('topK within maxChunks and unit-range thresholds are valid', () => {
  assert.deepEqual(ragKnowledgebase.validate(SAMPLE_CONFIGS[ID]), []);
  assert.deepEqual(ragKnowledgebase.validate({ topK: 8, maxChunks: 8, similarityThreshold: 0, vectorSimilarityWeight: 1 }), []);
});

test('topK above maxChunks, thresholds outside [0, 1] and repeated knowledge bases are refused', () => {
  const issues = ragKnowledgebase.validate({ topK: 9, maxChunks: 8, similarityThreshold: 1.5, vectorSimilarityWeight: -0.1, knowledgeBaseIds: [KB_ID, KB_ID] });
  assert.deepEqual(paths(issues), ['/similarityThreshold', '/vectorSimilarityWeight', '/topK', '/knowledgeBaseIds/1']);
});

test('desired state: a KnowledgeBaseBinding scoped to the instance\'s own org and project', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = ragKnowledgebase.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  const spec = manifests[0]!.spec as any;
  assert.deepEqual(spec.scope, { orgId: TEST_IDS.orgId, projectId: TEST_IDS.projectId, storagePrefix: `rag/${TEST_IDS.orgId}/${TEST_IDS.projectId}/` });
  assert.deepEqual(spec.knowledgeBaseIds, [KB_ID]);
  assert.deepEqual(spec.retrieval, { topK: 4, similarityThreshold: 0.2, vectorSimilarityWeight: 0.3, maxChunks: 8 });
  assertNoSecrets(manifests);
});

test('meter: 1 credit per retrieval and per 10 ingested pages, rounded up once', () => {
  assert.equal(ragKnowledgebase.meter({ retrievals: 2 }), 2);
  assert.equal(ragKnowledgebase.meter({ ingested_pages: 1 }), 1);
  assert.equal(ragKnowledgebase.meter({ retrievals: 1, ingested_pages: 15 }), 3);
});
