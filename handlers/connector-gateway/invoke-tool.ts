import type { Handler } from '../../generated/connector-gateway/operations';

/**
 * POST /v1/tools/invoke — policy, secret (fail closed), execution with the read/write retry rule,
 * audit. With `Idempotency-Key` a repeated invoke replays the first successful answer.
 */
export const invokeTool: Handler<'invokeTool'> = async (req, ctx) => {
  ctx.annotate({ instanceId: req.body.instanceId });
  const key = req.headers['idempotency-key'];
  const run = () => ctx.deps.tools.invoke(req.body, { requestId: ctx.requestId, idempotencyKey: key, signal: ctx.signal });
  if (!key) return { status: 200, body: await run() };
  const { value, replayed } = await ctx.deps.replays.run(`${ctx.caller?.subject ?? 'anonymous'}`, key, req.body, run);
  return { status: 200, body: value, headers: { 'Idempotent-Replayed': replayed ? 'true' : 'false' } };
};
