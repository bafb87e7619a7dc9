/**
 * The Ragflow adapter (EXTERNAL-CONTRACTS "RAGFlow HTTP API"): one dataset per knowledge base.
 *
 *   create    POST /api/v1/datasets                         → data.id
 *   upload    POST /api/v1/datasets/{id}/documents (multipart `file`) → data[0].id
 *   parse     POST /api/v1/datasets/{id}/chunks {document_ids}
 *   progress  GET  /api/v1/datasets/{id}/documents?id=…      → data.docs[0].run / progress
 *   retrieve  POST /api/v1/retrieval {question, dataset_ids, top_k, page_size, similarity_threshold}
 *
 * Every answer is the `{code, data}` envelope: `code != 0` is a failure even on HTTP 200. Any
 * failure — refused connection, timeout (10 s query, 10 s per control call, 60 s upload), 5xx,
 * non-JSON, `code != 0` — is AppError `RAG_UNAVAILABLE`; Ragflow's own message goes to the cause
 * (logged), never to the caller. The API key is sent as `Authorization: Bearer` and never logged.
 */
import { AppError } from '../platform/errors';
import type { BackendChunk, DatasetSpec, IngestDocument, JobStatus, RagBackend, RetrieveOptions, TenantScope } from './backend';
import { RAG_INGEST_TIMEOUT_MS, RAG_QUERY_TIMEOUT_MS } from './backend';

export interface RagflowOptions {
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
  queryTimeoutMs?: number;
  controlTimeoutMs?: number;
  uploadTimeoutMs?: number;
  /** Embedding model for new datasets (Ragflow's default when unset). */
  embeddingModel?: string;
}

interface Envelope<T> {
  code: number;
  data?: T;
  message?: string;
}

export class RagflowError extends Error {
  constructor(message: string, readonly ragflowCode: number | null, readonly httpStatus: number | null) {
    super(message);
    this.name = 'RagflowError';
  }
}

const unavailable = (operation: string, cause: unknown) =>
  new AppError('RAG_UNAVAILABLE', 'The knowledge base backend is unavailable; try again shortly', { operation }, { cause });

const RUN_STATES: Record<string, JobStatus['status']> = { UNSTART: 'running', RUNNING: 'running', DONE: 'done', FAIL: 'failed', CANCEL: 'failed' };

export class RagflowBackend implements RagBackend {
  readonly kind = 'ragflow' as const;
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly o: RagflowOptions) {
    this.base = o.baseUrl.replace(/\/+$/, '');
    this.doFetch = o.fetch ?? fetch;
  }

  /** Dataset names must be unique per Ragflow tenant: the KB id keeps them so. */
  async createDataset(scope: TenantScope, spec: DatasetSpec): Promise<{ datasetId: string }> {
    const body: Record<string, unknown> = {
      name: `${spec.kbId}`,
      description: `${scope.orgId}/${scope.projectId}: ${spec.name}`.slice(0, 1000),
      permission: 'me',
      chunk_method: spec.chunkMethod ?? 'naive',
      parser_config: { chunk_token_num: 256, delimiter: '\\n' },
    };
    if (this.o.embeddingModel) body.embedding_model = this.o.embeddingModel;
    const data = await this.call<{ id?: string }>('createDataset', 'POST', '/api/v1/datasets', { json: body });
    if (!data || typeof data.id !== 'string') throw unavailable('createDataset', new RagflowError('no dataset id in the answer', 0, 200));
    return { datasetId: data.id };
  }

  async ingest(_scope: TenantScope, doc: IngestDocument): Promise<{ jobId: string }> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(doc.bytes)], { type: doc.contentType }), doc.fileName);
    const ds = encodeURIComponent(doc.datasetId);
    const uploaded = await this.call<{ id?: string }[]>('uploadDocument', 'POST', `/api/v1/datasets/${ds}/documents`, {
      form,
      timeoutMs: this.o.uploadTimeoutMs ?? RAG_INGEST_TIMEOUT_MS,
    });
    const id = Array.isArray(uploaded) ? uploaded[0]?.id : undefined;
    if (typeof id !== 'string') throw unavailable('uploadDocument', new RagflowError('no document id in the answer', 0, 200));
    await this.call('parseDocuments', 'POST', `/api/v1/datasets/${ds}/chunks`, { json: { document_ids: [id] } });
    return { jobId: id };
  }

  async jobStatus(_scope: TenantScope, datasetId: string, jobId: string): Promise<JobStatus> {
    const data = await this.call<{ docs?: { id: string; run?: string; progress?: number; chunk_count?: number; progress_msg?: string }[] }>(
      'documentStatus',
      'GET',
      `/api/v1/datasets/${encodeURIComponent(datasetId)}/documents?id=${encodeURIComponent(jobId)}`,
      {},
    );
    const doc = data?.docs?.find((d) => d.id === jobId);
    if (!doc) return { status: 'failed', progress: 0, error: 'Ragflow no longer knows this document' };
    const status = RUN_STATES[doc.run ?? ''] ?? 'running';
    const progress = Math.min(1, Math.max(0, Number(doc.progress ?? 0)));
    return {
      status,
      progress: status === 'done' ? 1 : progress,
      chunkCount: typeof doc.chunk_count === 'number' ? doc.chunk_count : undefined,
      ...(status === 'failed' ? { error: `Ragflow could not parse the document (${doc.run})` } : {}),
    };
  }

  /** `GET /api/v1/datasets?id=…`: Ragflow answers and still knows the dataset. */
  async check(_scope: TenantScope, datasetId: string): Promise<void> {
    const data = await this.call<{ id: string }[]>('checkDataset', 'GET', `/api/v1/datasets?id=${encodeURIComponent(datasetId)}`, {});
    if (!Array.isArray(data) || !data.some((d) => d.id === datasetId)) {
      throw unavailable('checkDataset', new RagflowError(`Ragflow does not list dataset ${datasetId}`, 0, 200));
    }
  }

  async retrieve(_scope: TenantScope, question: string, opts: RetrieveOptions): Promise<BackendChunk[]> {
    if (opts.datasetIds.length === 0) return [];
    const data = await this.call<{ chunks?: { id: string; content?: string; content_with_weight?: string; document_id: string; dataset_id?: string; kb_id?: string; similarity?: number }[] }>(
      'retrieval',
      'POST',
      '/api/v1/retrieval',
      {
        json: {
          question,
          dataset_ids: opts.datasetIds,
          page: 1,
          page_size: opts.topK,
          top_k: 1024,
          similarity_threshold: opts.similarityThreshold,
          vector_similarity_weight: 0.3,
          keyword: false,
          highlight: false,
        },
        timeoutMs: this.o.queryTimeoutMs ?? RAG_QUERY_TIMEOUT_MS,
        signal: opts.signal,
      },
    );
    const allowed = new Set(opts.datasetIds);
    return (data?.chunks ?? [])
      .map((c) => ({
        id: String(c.id),
        datasetId: String(c.dataset_id ?? c.kb_id ?? ''),
        documentId: String(c.document_id),
        content: String(c.content ?? c.content_with_weight ?? ''),
        similarity: Math.min(1, Math.max(0, Number(c.similarity ?? 0))),
      }))
      // Defence in depth: only chunks of the datasets asked for, whatever Ragflow answers.
      .filter((c) => allowed.has(c.datasetId))
      .slice(0, opts.topK);
  }

  private async call<T>(
    operation: string,
    method: string,
    path: string,
    o: { json?: unknown; form?: FormData; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<T | undefined> {
    const timeout = AbortSignal.timeout(o.timeoutMs ?? this.o.controlTimeoutMs ?? RAG_QUERY_TIMEOUT_MS);
    const signal = o.signal ? AbortSignal.any([timeout, o.signal]) : timeout;
    const headers: Record<string, string> = { authorization: `Bearer ${this.o.apiKey}`, accept: 'application/json' };
    let body: string | FormData | undefined;
    if (o.form) body = o.form;
    else if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    }
    let res: Response;
    let text: string;
    try {
      res = await this.doFetch(`${this.base}${path}`, { method, headers, body, signal });
      text = await res.text();
    } catch (err) {
      if (o.signal?.aborted && !timeout.aborted) throw err;
      const why = timeout.aborted ? `timed out` : `unreachable: ${(err as Error).message}`;
      throw unavailable(operation, new RagflowError(`Ragflow ${operation} ${why}`, null, null));
    }
    let env: Envelope<T>;
    try {
      env = JSON.parse(text) as Envelope<T>;
    } catch {
      throw unavailable(operation, new RagflowError(`Ragflow ${operation} answered HTTP ${res.status} without JSON`, null, res.status));
    }
    if (!env || typeof env !== 'object' || typeof env.code !== 'number') {
      throw unavailable(operation, new RagflowError(`Ragflow ${operation} answered HTTP ${res.status} outside the {code, data} envelope`, null, res.status));
    }
    if (env.code !== 0 || !res.ok) {
      throw unavailable(operation, new RagflowError(`Ragflow ${operation} failed: code ${env.code} ${String(env.message ?? '').slice(0, 300)}`, env.code, res.status));
    }
    return env.data;
  }
}
