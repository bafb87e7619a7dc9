import type { Handler } from '../../generated/control-plane/operations';
import { projectScope } from '../../src/control-plane/access';
import { toIngestion } from '../../src/rag/service';

/** GET /rag/ingestions/{ingestionId} — `queued → running → done | failed` with progress. */
export const getIngestion: Handler<'getIngestion'> = async (req, ctx) => {
  const { db, rag } = ctx.deps;
  const scope = projectScope(ctx);
  ctx.annotate({ ...scope });
  return { status: 200, body: toIngestion(await rag.loadIngestion(db, scope, req.params.ingestionId)) };
};
