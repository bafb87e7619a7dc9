/**
 * Picks the RAG backend from the configuration (src/platform/config/sections/rag.ts):
 *
 *   RAGFLOW_URL set → RagflowBackend (RAGFLOW_API_KEY required; RAGFLOW_EMBEDDING_MODEL optional)
 *   otherwise       → EmbeddedRagBackend (PostgreSQL full-text search in the platform database)
 *
 * The API key is never logged; `describeRagBackend` gives a loggable summary.
 */
import type { Knex } from 'knex';
import type { RagConfig } from '../platform/config';
import type { RagBackend } from './backend';
import { EmbeddedRagBackend } from './embedded-backend';
import { RagflowBackend } from './ragflow-backend';

export * from './backend';
export { EmbeddedRagBackend } from './embedded-backend';
export { RagflowBackend } from './ragflow-backend';
export { RagService } from './service';

/** Ragflow when configured (RAGFLOW_URL + RAGFLOW_API_KEY), else the embedded backend. */
export function createRagBackend(config: RagConfig, db: Knex): RagBackend {
  const r = config.ragflow;
  if (!r) return new EmbeddedRagBackend(db);
  return new RagflowBackend({ baseUrl: r.url, apiKey: r.apiKey, ...(r.embeddingModel ? { embeddingModel: r.embeddingModel } : {}) });
}
