/**
 * Picks the RAG backend from the environment:
 *
 *   RAGFLOW_URL set → RagflowBackend (RAGFLOW_API_KEY required; RAGFLOW_EMBEDDING_MODEL optional)
 *   otherwise       → EmbeddedRagBackend (PostgreSQL full-text search in the platform database)
 *
 * The API key is never logged; `describeRagBackend` gives a loggable summary.
 */
import type { Knex } from 'knex';
import { ConfigError, redactUrl } from '../platform/config';
import type { RagBackend } from './backend';
import { EmbeddedRagBackend } from './embedded-backend';
import { RagflowBackend } from './ragflow-backend';

export * from './backend';
export { EmbeddedRagBackend } from './embedded-backend';
export { RagflowBackend } from './ragflow-backend';
export { RagService } from './service';
export { uploadCapFromEnv } from './uploads';

type Env = Record<string, string | undefined>;

export function ragBackendFromEnv(env: Env, db: Knex): RagBackend {
  const url = env.RAGFLOW_URL?.trim();
  if (!url) return new EmbeddedRagBackend(db);
  const problems: string[] = [];
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`  RAGFLOW_URL: must be an http or https URL (got ${JSON.stringify(redactUrl(url))})`);
  } catch {
    problems.push(`  RAGFLOW_URL: must be an absolute URL (got ${JSON.stringify(redactUrl(url))})`);
  }
  const apiKey = env.RAGFLOW_API_KEY?.trim();
  if (!apiKey) problems.push('  RAGFLOW_API_KEY: is required with RAGFLOW_URL');
  if (problems.length) throw new ConfigError(problems);
  return new RagflowBackend({ baseUrl: url, apiKey: apiKey!, ...(env.RAGFLOW_EMBEDDING_MODEL ? { embeddingModel: env.RAGFLOW_EMBEDDING_MODEL } : {}) });
}
