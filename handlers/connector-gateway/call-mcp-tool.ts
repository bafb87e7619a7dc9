import type { Handler } from '../../generated/connector-gateway/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /v1/mcp/tools/call — not built yet: answers 501 NOT_IMPLEMENTED. */
export const callMcpTool: Handler<'callMcpTool'> = notImplemented('callMcpTool');
