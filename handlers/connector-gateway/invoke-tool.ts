import type { Handler } from '../../generated/connector-gateway/operations';

/** POST /v1/tools/invoke — policy, secret (fail closed), execution with the read/write retry rule, audit. */
export const invokeTool: Handler<'invokeTool'> = async (req, ctx) => {
  ctx.annotate({ instanceId: req.body.instanceId });
  const body = await ctx.deps.tools.invoke(req.body, { requestId: ctx.requestId, idempotencyKey: req.headers['idempotency-key'], signal: ctx.signal });
  return { status: 200, body };
};
