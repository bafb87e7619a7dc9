import type { Handler } from '../../generated/connector-gateway/operations';
import { callerEntitlements } from '../../src/connector-gateway/caller-entitlements';

/**
 * GET /v1/instances/{instanceId}/mcp-servers/{server}/tools — the server's `tools/list`, each tool
 * with its kind and whether the instance allows it. Scope as for the tool policy (a user's token
 * is forwarded to the Control Plane: another tenant's instance is 404, nothing is sent).
 */
export const listMcpTools: Handler<'listMcpTools'> = async (req, ctx) => {
  ctx.annotate({ instanceId: req.params.instanceId });
  const authorization = (req.headers as Record<string, string | undefined>).authorization;
  const ent = await callerEntitlements(ctx.deps.cp, req.params.instanceId, ctx.caller, authorization, { requestId: ctx.requestId, signal: ctx.signal });
  return { status: 200, body: await ctx.deps.mcp.list(ent, req.params.server, { requestId: ctx.requestId, signal: ctx.signal }) };
};
