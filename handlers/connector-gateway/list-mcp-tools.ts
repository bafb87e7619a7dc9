import type { Handler } from '../../generated/connector-gateway/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** GET /v1/instances/{instanceId}/mcp-servers/{server}/tools — not built yet: answers 501 NOT_IMPLEMENTED. */
export const listMcpTools: Handler<'listMcpTools'> = notImplemented('listMcpTools');
