/**
 * The RAG backend behind one small interface, with two implementations:
 *
 * - `EmbeddedRagBackend` (default): chunks in PostgreSQL (`kb_chunks`), full-text search with a
 *   GIN-indexed tsvector, every statement filtered by org and project.
 * - `RagflowBackend` (production, `RAGFLOW_URL` + `RAGFLOW_API_KEY`): one Ragflow dataset per
 *   knowledge base; upload, parse, poll, retrieve over Ragflow's HTTP API.
 *
 * The control plane resolves a knowledge base through the tenant-filtered `knowledge_bases` row
 * first and hands the backend only that KB's dataset id, so a backend never sees a query for
 * another tenant's data. Backend down or too slow → AppError `RAG_UNAVAILABLE` (503).
 */
export interface TenantScope {
  orgId: string;
  projectId: string;
}

export interface DatasetSpec {
  kbId: string;
  name: string;
  description?: string;
  language?: string;
  chunkMethod?: string;
}

export interface IngestDocument {
  datasetId: string;
  kbId: string;
  /** Our document id (`doc_…`). */
  documentId: string;
  fileName: string;
  contentType: string;
  bytes: Buffer;
  title?: string;
  metadata?: Record<string, string | undefined>;
}

export interface JobStatus {
  status: 'running' | 'done' | 'failed';
  /** 0..1 */
  progress: number;
  chunkCount?: number;
  pages?: number;
  error?: string;
}

export interface RetrieveOptions {
  datasetIds: string[];
  topK: number;
  similarityThreshold: number;
  signal?: AbortSignal;
}

export interface BackendChunk {
  id: string;
  datasetId: string;
  /** Our document id (embedded) or the backend's document id (mapped back by the caller). */
  documentId: string;
  content: string;
  /** 0..1 */
  similarity: number;
}

export interface RagBackend {
  readonly kind: 'embedded' | 'ragflow';
  /** Creates the backend's dataset for a knowledge base; answers its id. */
  createDataset(scope: TenantScope, spec: DatasetSpec): Promise<{ datasetId: string }>;
  /** Starts ingesting a document; answers the backend's job (document) id. */
  ingest(scope: TenantScope, doc: IngestDocument): Promise<{ jobId: string }>;
  jobStatus(scope: TenantScope, datasetId: string, jobId: string): Promise<JobStatus>;
  retrieve(scope: TenantScope, question: string, opts: RetrieveOptions): Promise<BackendChunk[]>;
  /** Cheap reachability check of a dataset before work is queued (RAG_UNAVAILABLE when down). */
  check(scope: TenantScope, datasetId: string): Promise<void>;
}

/** Timeouts: Ragflow query 10 s, ingest 60 s (async). */
export const RAG_QUERY_TIMEOUT_MS = 10_000;
export const RAG_INGEST_TIMEOUT_MS = 60_000;
