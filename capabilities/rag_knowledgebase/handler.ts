import { ragKnowledgebaseMeta as meta, type RagKnowledgebaseHandler } from '../../generated/capabilities/rag-knowledgebase';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/** The per-project object-storage prefix uploads go under. */
export const ragStoragePrefix = (orgId: string, projectId: string) => `rag/${orgId}/${projectId}/`;

const unit = (v: number | undefined) => v === undefined || (Number.isFinite(v) && v >= 0 && v <= 1);

/**
 * Knowledge base (RAG). Semantic rules: similarityThreshold and vectorSimilarityWeight are in
 * [0, 1]; topK ≤ maxChunks (every retrieved chunk fits in the prompt context, so citations never
 * point at a chunk the model did not see); knowledge base ids are unique.
 * Desired state: a KnowledgeBaseBinding scoped to the instance's own org and project (retrieval
 * can never reach another tenant's knowledge base).
 */
export const ragKnowledgebase: RagKnowledgebaseHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    if (!unit(config.similarityThreshold)) issues.push({ path: pointer('similarityThreshold'), message: 'must be between 0 and 1' });
    if (!unit(config.vectorSimilarityWeight)) issues.push({ path: pointer('vectorSimilarityWeight'), message: 'must be between 0 and 1' });
    if (config.topK !== undefined && config.maxChunks !== undefined && config.topK > config.maxChunks) {
      issues.push({ path: pointer('topK'), message: `must not exceed maxChunks (${config.maxChunks}): retrieved chunks must fit in the context` });
    }
    const ids = config.knowledgeBaseIds ?? [];
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) issues.push({ path: pointer('knowledgeBaseIds', i), message: `repeats ${id}` });
    });
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    return [
      instanceObject(ctx, meta.id, 'KnowledgeBaseBinding', {
        spec: {
          instanceId: ctx.instanceId,
          scope: { orgId: ctx.orgId, projectId: ctx.projectId, storagePrefix: ragStoragePrefix(ctx.orgId, ctx.projectId) },
          knowledgeBaseIds: c.knowledgeBaseIds!,
          retrieval: {
            topK: c.topK!,
            similarityThreshold: c.similarityThreshold!,
            vectorSimilarityWeight: c.vectorSimilarityWeight!,
            maxChunks: c.maxChunks!,
          },
          citeSources: c.citeSources!,
          ingestion: { maxUploadBytes: c.maxUploadBytes! },
        },
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
