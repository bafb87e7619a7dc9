import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /rag/knowledge-bases/{kbId}/uploads — not built yet: answers 501 NOT_IMPLEMENTED. */
export const createKnowledgeBaseUpload: Handler<'createKnowledgeBaseUpload'> = notImplemented('createKnowledgeBaseUpload');
