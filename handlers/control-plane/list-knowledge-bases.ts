import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /rag/knowledge-bases — not built yet: answers 501 NOT_IMPLEMENTED. */
export const listKnowledgeBases: Handler<'listKnowledgeBases'> = notImplemented('listKnowledgeBases');
