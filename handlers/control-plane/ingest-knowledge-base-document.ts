import type { Handler } from '../../generated/control-plane/operations';
import { idempotent } from '../../src/control-plane/idempotent';
import { projectScope } from '../../src/control-plane/access';
import { toIngestion } from '../../src/rag/service';

/**
 * POST /rag/knowledge-bases/{kbId}/documents — checks the upload exists under the KB's prefix
 * within its size cap, queues an ingestion and starts it in-process once the transaction commits.
 */
export const ingestKnowledgeBaseDocument: Handler<'ingestKnowledgeBaseDocument'> = async (req, ctx) => {
  const { db, rag } = ctx.deps;
  const scope = projectScope(ctx);
  ctx.annotate({ ...scope });
  // Ragflow down → 503 RAG_UNAVAILABLE now, rather than a queued job that can only fail.
  await rag.backend.check(scope, (await rag.loadKb(db, scope, req.params.kbId)).dataset_id);
  const result = await idempotent(req, ctx, async (trx) => {
    const kb = await rag.loadKb(trx, scope, req.params.kbId);
    const row = await rag.queueIngestion(trx, kb, req.body);
    return { status: 202 as const, body: toIngestion(row) };
  });
  // After commit (a replay kicks an already-claimed job, which the worker ignores).
  rag.worker.kick(result.body.id, scope);
  return result;
};
