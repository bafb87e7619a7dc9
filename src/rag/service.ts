/**
 * Knowledge bases, uploads, ingestions and queries over a `RagBackend`. Every statement filters
 * by `org_id` and `project_id` (the caller's resolved scope), never by id alone; the handlers in
 * handlers/control-plane/*knowledge* take it from the scope authorized before they run (policy/).
 *
 * Ingestion runs in-process after the request's transaction commits (`IngestionWorker`): it reads
 * the uploaded object, hands it to the backend, polls the backend's job until done, failed or the
 * 60 s ingest deadline, and records status/progress/chunk counts on the `ingestions` row.
 */
import type { Knex } from 'knex';
import type { Ingestion, KnowledgeBase, RagChunk } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import type { Logger } from '../platform/logger';
import type { ObjectStore } from '../storage/object-store';
import { RAG_INGEST_TIMEOUT_MS, type RagBackend, type TenantScope } from './backend';
import { IngestionModel, KbDocumentModel, KbUploadModel, KnowledgeBaseModel } from './models';

type Db = Knex | Knex.Transaction;

export interface KbRow {
  id: string;
  org_id: string;
  project_id: string;
  name: string;
  description: string | null;
  language: string;
  chunk_method: string;
  backend: string;
  dataset_id: string;
  document_count: number;
  chunk_count: number;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface IngestionRow {
  id: string;
  org_id: string;
  project_id: string;
  kb_id: string;
  upload_id: string;
  document_id: string | null;
  title: string | null;
  metadata: Record<string, string>;
  status: Ingestion['status'];
  progress: number;
  pages: number | null;
  chunk_count: number | null;
  error: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface UploadRow {
  id: string;
  org_id: string;
  project_id: string;
  kb_id: string;
  file_name: string;
  content_type: string;
  size_bytes: string | number;
  max_bytes: string | number;
  object_key: string;
}

const iso = (d: Date | string) => new Date(d).toISOString();

export const storagePrefix = (orgId: string, projectId: string, kbId: string) => `rag/${orgId}/${projectId}/${kbId}/`;

export function toKnowledgeBase(r: KbRow): KnowledgeBase {
  return {
    id: r.id,
    orgId: r.org_id,
    projectId: r.project_id,
    name: r.name,
    ...(r.description ? { description: r.description } : {}),
    language: r.language,
    chunkMethod: r.chunk_method,
    storagePrefix: storagePrefix(r.org_id, r.project_id, r.id),
    documentCount: Number(r.document_count),
    chunkCount: Number(r.chunk_count),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export function toIngestion(r: IngestionRow): Ingestion {
  return {
    id: r.id,
    kbId: r.kb_id,
    uploadId: r.upload_id,
    documentId: r.document_id,
    title: r.title,
    status: r.status,
    progress: Math.min(1, Math.max(0, Number(r.progress))),
    pages: r.pages,
    chunkCount: r.chunk_count,
    error: r.error,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** Largest upload the platform accepts (the spec's `sizeBytes` maximum). */
export { RAG_UPLOAD_CAP_LIMIT as MAX_UPLOAD_BYTES } from '../platform/config/sections/rag';
export const UPLOAD_URL_SECONDS = 900;

export class RagService {
  readonly worker: IngestionWorker;
  /** Largest file an upload ticket allows. */
  readonly uploadCapBytes: number;
  constructor(
    readonly db: Knex,
    readonly backend: RagBackend,
    readonly objectStore: ObjectStore,
    readonly log: Logger,
    opts: { ingestTimeoutMs?: number; pollMs?: number; uploadCapBytes?: number } = {},
  ) {
    this.uploadCapBytes = opts.uploadCapBytes ?? 25 * 1024 * 1024;
    this.worker = new IngestionWorker(this, opts.ingestTimeoutMs ?? RAG_INGEST_TIMEOUT_MS, opts.pollMs ?? 500);
  }

  /** The KB in exactly this scope, or 404. */
  async loadKb(db: Db, scope: TenantScope, kbId: string): Promise<KbRow> {
    const row = await KnowledgeBaseModel.query(db).where({ id: kbId, org_id: scope.orgId, project_id: scope.projectId }).first();
    if (!row) throw new AppError('NOT_FOUND', 'Knowledge base not found');
    return row;
  }

  async createKb(trx: Knex.Transaction, scope: TenantScope, body: { name: string; description?: string; language?: string; chunkMethod?: string }): Promise<KbRow> {
    const id = newId('kb');
    // Ragflow down → RAG_UNAVAILABLE, and the transaction (nothing written yet) rolls back.
    const { datasetId } = await this.backend.createDataset(scope, { kbId: id, name: body.name, description: body.description, language: body.language, chunkMethod: body.chunkMethod });
    const row = await KnowledgeBaseModel.query(trx)
      .insert({
        id,
        org_id: scope.orgId,
        project_id: scope.projectId,
        name: body.name,
        description: body.description ?? null,
        language: body.language ?? 'en',
        chunk_method: body.chunkMethod ?? 'naive',
        backend: this.backend.kind,
        dataset_id: datasetId,
      })
      .returning('*');
    return row as KbRow;
  }

  /** Keyset pagination on the id (time-ordered: `newId`), so timestamp precision cannot repeat a row. */
  async listKbs(db: Db, scope: TenantScope, o: { cursor?: string; limit: number }): Promise<{ rows: KbRow[]; nextCursor: string | null }> {
    const q = KnowledgeBaseModel.query(db).where({ org_id: scope.orgId, project_id: scope.projectId });
    if (o.cursor) q.andWhere('id', '>', decodeKbCursor(o.cursor, scope));
    const rows = (await q.orderBy('id').limit(o.limit + 1)) as KbRow[];
    const more = rows.length > o.limit;
    const page = rows.slice(0, o.limit);
    const last = page[page.length - 1];
    return { rows: page, nextCursor: more && last ? Buffer.from(JSON.stringify({ p: scope.projectId, id: last.id })).toString('base64url') : null };
  }

  async createUpload(db: Db, kb: KbRow, body: { fileName: string; contentType: string; sizeBytes: number }, maxBytes: number) {
    const uploadId = newId('upl');
    const objectKey = `${storagePrefix(kb.org_id, kb.project_id, kb.id)}${uploadId}/${body.fileName}`;
    const presigned = await this.objectStore.presignPut(objectKey, { contentType: body.contentType, expiresInSeconds: UPLOAD_URL_SECONDS, maxBytes });
    await KbUploadModel.query(db).insert({
      id: uploadId,
      org_id: kb.org_id,
      project_id: kb.project_id,
      kb_id: kb.id,
      file_name: body.fileName,
      content_type: body.contentType,
      size_bytes: body.sizeBytes,
      max_bytes: maxBytes,
      object_key: objectKey,
      expires_at: presigned.expiresAt,
    });
    return {
      uploadId,
      kbId: kb.id,
      objectKey,
      url: presigned.url,
      method: 'PUT' as const,
      headers: presigned.headers,
      maxSizeBytes: maxBytes,
      expiresAt: presigned.expiresAt.toISOString(),
    };
  }

  /** Checks the upload landed under this KB's prefix within its size cap, then queues the job. */
  async queueIngestion(trx: Knex.Transaction, kb: KbRow, body: { uploadId: string; title?: string; metadata?: Record<string, string | undefined> }): Promise<IngestionRow> {
    const scope = { org_id: kb.org_id, project_id: kb.project_id, kb_id: kb.id };
    const upload = await KbUploadModel.query(trx).where({ id: body.uploadId, ...scope }).first();
    if (!upload) throw new AppError('NOT_FOUND', 'Upload not found in this knowledge base');
    if (!upload.object_key.startsWith(storagePrefix(kb.org_id, kb.project_id, kb.id))) throw new AppError('NOT_FOUND', 'Upload not found in this knowledge base');
    const head = await this.objectStore.head(upload.object_key);
    if (!head) throw new AppError('UNPROCESSABLE', 'The upload was never completed: PUT the file to the presigned URL first', { uploadId: upload.id });
    if (head.size > Number(upload.max_bytes)) {
      await this.objectStore.delete(upload.object_key).catch(() => undefined);
      throw new AppError('UNPROCESSABLE', `The uploaded file is larger than the ${upload.max_bytes} bytes allowed`, { uploadId: upload.id, sizeBytes: head.size });
    }
    const row = await IngestionModel.query(trx)
      .insert({ id: newId('ing'), ...scope, upload_id: upload.id, title: body.title ?? null, metadata: (body.metadata ?? {}) as Record<string, string>, status: 'queued', progress: 0 })
      .returning('*');
    return row as IngestionRow;
  }

  async loadIngestion(db: Db, scope: TenantScope, id: string): Promise<IngestionRow> {
    const row = await IngestionModel.query(db).where({ id, org_id: scope.orgId, project_id: scope.projectId }).first();
    if (!row) throw new AppError('NOT_FOUND', 'Ingestion not found');
    return row;
  }

  async query(kb: KbRow, question: string, o: { topK: number; similarityThreshold: number; signal?: AbortSignal }): Promise<RagChunk[]> {
    const scope = { orgId: kb.org_id, projectId: kb.project_id };
    const chunks = await this.backend.retrieve(scope, question, { datasetIds: [kb.dataset_id], topK: o.topK, similarityThreshold: o.similarityThreshold, signal: o.signal });
    if (chunks.length === 0) return [];
    // Map backend document ids to ours (and titles), inside the same tenant scope.
    const docIds = [...new Set(chunks.map((c) => c.documentId))];
    const docs = (await KbDocumentModel.query(this.db)
      .where({ org_id: kb.org_id, project_id: kb.project_id, kb_id: kb.id })
      .andWhere((w) => w.whereIn('id', docIds).orWhereIn('backend_document_id', docIds))
      .select('id', 'backend_document_id', 'title', 'file_name')) as { id: string; backend_document_id: string | null; title: string | null; file_name: string }[];
    const byId = new Map<string, (typeof docs)[number]>();
    for (const d of docs) {
      byId.set(d.id, d);
      if (d.backend_document_id) byId.set(d.backend_document_id, d);
    }
    return chunks.map((c) => {
      const d = byId.get(c.documentId);
      return { id: c.id, documentId: d?.id ?? c.documentId, documentTitle: d?.title ?? d?.file_name ?? undefined, content: c.content, similarity: c.similarity } as RagChunk;
    }).map((c) => (c.documentTitle === undefined ? (({ documentTitle: _t, ...rest }) => rest)(c) : c));
  }
}

function decodeKbCursor(cursor: string, scope: TenantScope): string {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { p?: unknown; id?: unknown };
    if (c.p === scope.projectId && typeof c.id === 'string' && /^kb_[A-Za-z0-9]{8,40}$/.test(c.id)) return c.id;
  } catch {
    /* fall through */
  }
  throw new AppError('VALIDATION_FAILED', 'Invalid cursor: not a cursor from this API for this project', { errors: [{ path: '/query/cursor', message: 'not a cursor from this API for this project' }] });
}

/** Runs queued ingestions in-process; one job at a time per ingestion id (claimed by an UPDATE). */
export class IngestionWorker {
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  constructor(private readonly svc: RagService, private readonly timeoutMs: number, private readonly pollMs: number) {}

  /** Call after the transaction that queued `id` committed. */
  kick(id: string, scope: TenantScope): void {
    if (this.stopped) return;
    const p = this.run(id, scope).catch((err) => this.svc.log.error({ err, ingestionId: id }, 'ingestion worker failed'));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Re-queues what a previous process left queued or running (called at start). */
  async resume(): Promise<void> {
    const rows = (await IngestionModel.query(this.svc.db).whereIn('status', ['queued', 'running']).select('id', 'org_id', 'project_id')) as { id: string; org_id: string; project_id: string }[];
    await IngestionModel.query(this.svc.db).whereIn('id', rows.map((r) => r.id)).andWhere('status', 'running').patch({ status: 'queued', updated_at: this.svc.db.fn.now() });
    for (const r of rows) this.kick(r.id, { orgId: r.org_id, projectId: r.project_id });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running]);
  }

  private async run(id: string, scope: TenantScope): Promise<void> {
    const { db, backend, objectStore } = this.svc;
    const where = { id, org_id: scope.orgId, project_id: scope.projectId };
    const [job] = (await IngestionModel.query(db).where({ ...where, status: 'queued' }).patch({ status: 'running', progress: 0.05, updated_at: db.fn.now() }).returning('*')) as IngestionRow[];
    if (!job) return; // someone else has it, or it is finished
    const set = (patch: Record<string, unknown>) => IngestionModel.query(db).where(where).patch({ ...patch, updated_at: db.fn.now() });
    const deadline = Date.now() + this.timeoutMs;
    try {
      const kb = await this.svc.loadKb(db, scope, job.kb_id);
      const upload = (await KbUploadModel.query(db).where({ id: job.upload_id, org_id: scope.orgId, project_id: scope.projectId, kb_id: kb.id }).first())!;
      const object = await objectStore.get(upload.object_key);
      if (!object) throw new AppError('UNPROCESSABLE', 'The uploaded object is gone');
      const documentId = newId('doc');
      await KbDocumentModel.query(db).insert({
        id: documentId,
        org_id: scope.orgId,
        project_id: scope.projectId,
        kb_id: kb.id,
        upload_id: upload.id,
        title: job.title,
        file_name: upload.file_name,
        content_type: upload.content_type,
        size_bytes: object.size,
        metadata: job.metadata ?? {},
      });
      await set({ document_id: documentId, progress: 0.1 });
      const { jobId } = await backend.ingest(scope, {
        datasetId: kb.dataset_id,
        kbId: kb.id,
        documentId,
        fileName: upload.file_name,
        contentType: upload.content_type,
        bytes: object.bytes,
        title: job.title ?? undefined,
        metadata: job.metadata,
      });
      await KbDocumentModel.query(db).where({ id: documentId, org_id: scope.orgId, project_id: scope.projectId }).patch({ backend_document_id: jobId });
      for (;;) {
        const st = await backend.jobStatus(scope, kb.dataset_id, jobId);
        if (st.status === 'failed') throw new AppError('UNPROCESSABLE', st.error ?? 'The backend could not ingest the document');
        if (st.status === 'done') {
          const chunkCount = st.chunkCount ?? 0;
          const pages = st.pages ?? Math.max(1, Math.ceil(object.size / 3000));
          await db.transaction(async (trx) => {
            await KbDocumentModel.query(trx).where({ id: documentId, org_id: scope.orgId, project_id: scope.projectId }).patch({ chunk_count: chunkCount, pages });
            await IngestionModel.query(trx).where(where).patch({ status: 'done', progress: 1, pages, chunk_count: chunkCount, error: null, updated_at: trx.fn.now() });
            await KnowledgeBaseModel.query(trx)
              .where({ id: kb.id, org_id: scope.orgId, project_id: scope.projectId })
              .patch({ document_count: trx.raw('document_count + 1'), chunk_count: trx.raw('chunk_count + ?', [chunkCount]), updated_at: trx.fn.now() });
          });
          return;
        }
        await set({ progress: Math.min(0.95, Math.max(0.1, st.progress)) });
        if (Date.now() + this.pollMs > deadline) throw new AppError('RAG_UNAVAILABLE', `Ingestion did not finish within ${Math.round(this.timeoutMs / 1000)} s`);
        await new Promise((r) => setTimeout(r, this.pollMs));
      }
    } catch (err) {
      const public_ = err instanceof AppError ? err.message : 'Ingestion failed';
      if (!(err instanceof AppError) || err.status >= 500) this.svc.log.warn({ err, ingestionId: id, orgId: scope.orgId, projectId: scope.projectId }, 'ingestion failed');
      await set({ status: 'failed', error: public_.slice(0, 500) });
    }
  }
}
