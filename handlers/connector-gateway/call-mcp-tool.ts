import type { Handler } from '../../generated/connector-gateway/operations';

/**
 * POST /v1/mcp/tools/call — policy (server, allowedTools, maxCallsPerRun, SSRF guard), secret
 * (fail closed), `tools/call` with the read/write retry rule, audit.
 */
export const callMcpTool: Handler<'callMcpTool'> = async (req, ctx) => {
  ctx.annotate({ instanceId: req.body.instanceId });
  return { status: 200, body: await ctx.deps.mcp.call(req.body, { requestId: ctx.requestId, signal: ctx.signal }) };
};
