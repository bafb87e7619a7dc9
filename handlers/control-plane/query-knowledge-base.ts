import type { Handler } from '../../generated/control-plane/operations';
import { rowScopeFor, runnerScope } from '../../src/rag/access';

/**
 * POST /rag/knowledge-bases/{kbId}/query — retrieval inside the KB's org/project. Users and
 * project API keys are scoped by their access; the Runner by the run's `instanceId`
 * (src/rag/access.ts explains how it proves scope). Backend down or slower than 10 s → 503.
 */
export const queryKnowledgeBase: Handler<'queryKnowledgeBase'> = async (req, ctx) => {
  const { db, rag } = ctx.deps;
  const started = Date.now();
  const scope =
    (await runnerScope(db, ctx.caller, req.body.instanceId)) ??
    (await rowScopeFor(db, ctx.caller, 'knowledge_bases', req.params.kbId, 'member'));
  ctx.annotate({ ...scope, ...(req.body.instanceId ? { instanceId: req.body.instanceId } : {}) });
  const kb = await rag.loadKb(db, scope, req.params.kbId);
  const chunks = await rag.query(kb, req.body.question, { topK: req.body.topK ?? 5, similarityThreshold: req.body.similarityThreshold ?? 0.2 });
  return { status: 200, body: { kbId: kb.id, chunks, total: chunks.length, tookMs: Date.now() - started } };
};
