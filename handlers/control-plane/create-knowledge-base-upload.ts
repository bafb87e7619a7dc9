import type { Handler } from '../../generated/control-plane/operations';
import { AppError } from '../../src/platform/errors';
import { projectScope } from '../../src/control-plane/access';
import { safeFileName } from '../../src/rag/uploads';

/**
 * POST /rag/knowledge-bases/{kbId}/uploads — a presigned PUT for
 * `rag/<orgId>/<projectId>/<kbId>/<uploadId>/<fileName>`, limited to the platform's upload cap.
 */
export const createKnowledgeBaseUpload: Handler<'createKnowledgeBaseUpload'> = async (req, ctx) => {
  const { db, rag } = ctx.deps;
  const scope = projectScope(ctx);
  ctx.annotate({ ...scope });
  const kb = await rag.loadKb(db, scope, req.params.kbId);
  const cap = rag.uploadCapBytes;
  if (req.body.sizeBytes > cap) {
    throw new AppError('UNPROCESSABLE', `Files up to ${cap} bytes can be uploaded`, { sizeBytes: req.body.sizeBytes, maxSizeBytes: cap });
  }
  const fileName = safeFileName(req.body.fileName);
  const ticket = await rag.createUpload(db, kb, { ...req.body, fileName }, cap);
  return { status: 201, body: ticket };
};
