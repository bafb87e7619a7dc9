import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /audit/verify — not built yet: answers 501 NOT_IMPLEMENTED. */
export const verifyAuditChain: Handler<'verifyAuditChain'> = notImplemented('verifyAuditChain');
