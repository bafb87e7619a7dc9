import type { Handler } from '../../generated/control-plane/operations';
import { projectScope } from '../../src/control-plane/access';
import { idempotent } from '../../src/control-plane/idempotent';
import { toKnowledgeBase } from '../../src/rag/service';

/** POST /rag/knowledge-bases — a project-scoped KB (a Ragflow dataset, or the embedded store). */
export const createKnowledgeBase: Handler<'createKnowledgeBase'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const scope = projectScope(ctx);
    ctx.annotate(scope);
    const row = await ctx.deps.rag.createKb(trx, scope, req.body);
    return { status: 201 as const, body: toKnowledgeBase(row) };
  });
