import { defineSection } from '../define';

/** Largest upload any configuration may allow (100 MiB); the knowledge-base service enforces it too. */
export const RAG_UPLOAD_CAP_LIMIT = 100 * 1024 * 1024;
/** Default cap per file (25 MiB). */
export const RAG_DEFAULT_UPLOAD_CAP = 25 * 1024 * 1024;

export interface RagConfig {
  /** Ragflow (RAGFLOW_URL + RAGFLOW_API_KEY); unset → PostgreSQL full-text search in the platform database. */
  ragflow?: { url: string; apiKey: string; embeddingModel?: string };
  /** Largest knowledge-base upload in bytes. */
  maxUploadBytes: number;
}

/** Knowledge bases: Ragflow or the embedded backend, and the upload cap. */
export const rag = defineSection({
  id: 'rag',
  title: 'Knowledge bases (RAG)',
  vars: {
    RAGFLOW_URL: { doc: 'Ragflow for knowledge bases; unset = PostgreSQL full-text search in the platform database.', example: 'http://ragflow:9380' },
    RAGFLOW_API_KEY: { doc: 'Ragflow API key (never logged).', secret: true, required: 'with RAGFLOW_URL' },
    RAGFLOW_EMBEDDING_MODEL: { doc: 'Embedding model of new datasets.', default: 'Ragflow\'s default' },
    RAG_MAX_UPLOAD_BYTES: { doc: `Largest knowledge-base upload (1 to ${RAG_UPLOAD_CAP_LIMIT}, i.e. 100 MiB).`, default: String(RAG_DEFAULT_UPLOAD_CAP) },
  },
  read(r): { rag: RagConfig } {
    const url = r.url('RAGFLOW_URL')?.trim();
    const apiKey = r.str('RAGFLOW_API_KEY')?.trim();
    if (url && !apiKey) r.problem('RAGFLOW_API_KEY', 'is required with RAGFLOW_URL');
    const embeddingModel = r.str('RAGFLOW_EMBEDDING_MODEL');
    return {
      rag: {
        ragflow: url ? { url, apiKey: apiKey ?? '', ...(embeddingModel ? { embeddingModel } : {}) } : undefined,
        maxUploadBytes: r.int('RAG_MAX_UPLOAD_BYTES', RAG_DEFAULT_UPLOAD_CAP, 1, RAG_UPLOAD_CAP_LIMIT),
      },
    };
  },
});
