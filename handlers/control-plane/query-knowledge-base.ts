import type { Handler } from '../../generated/control-plane/operations';
import { projectScope } from '../../src/control-plane/access';

/**
 * POST /rag/knowledge-bases/{kbId}/query — retrieval inside the KB's org/project. Who may
 * query which base is policy/'s: members and project-wide API keys of its project; the Runner
 * only for a run whose `instanceId` belongs to the base's project (the control plane, not the
 * Runner, derives that project from the instance row; a terminated instance reaches nothing). Backend down or slower than 10 s → 503.
 */
export const queryKnowledgeBase: Handler<'queryKnowledgeBase'> = async (req, ctx) => {
  const { db, rag } = ctx.deps;
  const started = Date.now();
  const scope = projectScope(ctx);
  ctx.annotate({ ...scope, ...(req.body.instanceId ? { instanceId: req.body.instanceId } : {}) });
  const kb = await rag.loadKb(db, scope, req.params.kbId);
  const chunks = await rag.query(kb, req.body.question, { topK: req.body.topK ?? 5, similarityThreshold: req.body.similarityThreshold ?? 0.2 });
  return { status: 200, body: { kbId: kb.id, chunks, total: chunks.length, tookMs: Date.now() - started } };
};
