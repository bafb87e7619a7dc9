/**
 * The embedded RAG backend: chunks in PostgreSQL (`kb_chunks`), ranked by full-text search.
 * Every statement carries `org_id = ? and project_id = ?` as well as the KB id.
 *
 * Similarity (0..1) is the share of the question's lexemes (english stemming, stop words dropped)
 * that a chunk contains; ties are broken by `ts_rank`. Candidates come from the GIN index with
 * the lexemes OR-ed, so a natural-language question matches a chunk holding any of its words.
 */
import type { Knex } from 'knex';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import type { BackendChunk, DatasetSpec, IngestDocument, JobStatus, RagBackend, RetrieveOptions, TenantScope } from './backend';
import { chunkText, extractText, isTextType, pagesOf } from './chunk';

export class EmbeddedRagBackend implements RagBackend {
  readonly kind = 'embedded' as const;
  constructor(private readonly db: Knex) {}

  async createDataset(_scope: TenantScope, spec: DatasetSpec): Promise<{ datasetId: string }> {
    return { datasetId: spec.kbId };
  }

  async ingest(scope: TenantScope, doc: IngestDocument): Promise<{ jobId: string }> {
    if (!isTextType(doc.contentType)) {
      throw new AppError('UNPROCESSABLE', `The embedded knowledge store indexes text, markdown, HTML, CSV and JSON; ${doc.contentType} needs the Ragflow backend`);
    }
    const text = extractText(doc.bytes, doc.contentType);
    const chunks = chunkText(text);
    await this.db.transaction(async (trx) => {
      await trx('kb_chunks').where({ org_id: scope.orgId, project_id: scope.projectId, kb_id: doc.kbId, document_id: doc.documentId }).delete();
      for (let i = 0; i < chunks.length; i += 200) {
        await trx('kb_chunks').insert(
          chunks.slice(i, i + 200).map((content, j) => ({
            id: newId('chk'),
            org_id: scope.orgId,
            project_id: scope.projectId,
            kb_id: doc.kbId,
            document_id: doc.documentId,
            seq: i + j,
            content,
          })),
        );
      }
    });
    this.results.set(doc.documentId, { status: 'done', progress: 1, chunkCount: chunks.length, pages: pagesOf(text) });
    return { jobId: doc.documentId };
  }

  private readonly results = new Map<string, JobStatus>();

  async jobStatus(scope: TenantScope, datasetId: string, jobId: string): Promise<JobStatus> {
    const known = this.results.get(jobId);
    if (known) {
      this.results.delete(jobId);
      return known;
    }
    const row = await this.db('kb_chunks')
      .where({ org_id: scope.orgId, project_id: scope.projectId, kb_id: datasetId, document_id: jobId })
      .count<{ n: string | number }[]>({ n: '*' })
      .first();
    return { status: 'done', progress: 1, chunkCount: Number(row?.n ?? 0) };
  }

  async check(): Promise<void> {
    // The platform database itself: when it is down, nothing else works either.
  }

  async retrieve(scope: TenantScope, question: string, opts: RetrieveOptions): Promise<BackendChunk[]> {
    if (opts.datasetIds.length === 0) return [];
    const lex = await this.db.raw<{ rows: { l: string }[] }>(`select unnest(tsvector_to_array(to_tsvector('english', ?))) as l`, [question]);
    const lexemes = lex.rows.map((r) => r.l).filter((l) => l.length > 0);
    if (lexemes.length === 0) return [];
    const { rows } = await this.db.raw<{ rows: { id: string; kb_id: string; document_id: string; content: string; matched: string | number; rank: number }[] }>(
      `with q as (select to_tsquery('simple', string_agg(quote_literal(l), ' | ')) as query from unnest(?::text[]) as l)
       select c.id, c.kb_id, c.document_id, c.content, ts_rank(c.tsv, q.query) as rank,
              (select count(*) from unnest(?::text[]) as l where c.tsv @@ to_tsquery('simple', quote_literal(l))) as matched
         from kb_chunks c, q
        where c.org_id = ? and c.project_id = ? and c.kb_id = any(?::text[]) and c.tsv @@ q.query
        order by matched desc, rank desc, c.id
        limit ?`,
      [lexemes, lexemes, scope.orgId, scope.projectId, opts.datasetIds, Math.max(opts.topK * 4, 20)],
    );
    return rows
      .map((r) => ({ id: r.id, datasetId: r.kb_id, documentId: r.document_id, content: r.content, similarity: Math.min(1, Number(r.matched) / lexemes.length) }))
      .filter((c) => c.similarity > 0 && c.similarity >= opts.similarityThreshold)
      .slice(0, opts.topK);
  }
}
