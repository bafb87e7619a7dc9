import type { Handler } from '../../generated/control-plane/operations';
import { projectScope } from '../../src/control-plane/access';
import { toKnowledgeBase } from '../../src/rag/service';

/** GET /rag/knowledge-bases?projectId= — one project's KBs; other tenants' projects answer 404. */
export const listKnowledgeBases: Handler<'listKnowledgeBases'> = async (req, ctx) => {
  const { db, rag } = ctx.deps;
  const page = await rag.listKbs(db, projectScope(ctx), { cursor: req.query.cursor, limit: req.query.limit ?? 50 });
  return { status: 200, body: { items: page.rows.map(toKnowledgeBase), nextCursor: page.nextCursor } };
};
