import type { Handler } from '../../generated/connector-gateway/operations';
import { callerEntitlements } from '../../src/connector-gateway/caller-entitlements';

/**
 * GET /v1/instances/{instanceId}/tools — the effective connector policy. Platform services read it
 * with this service's token; a user's own token is forwarded so the Control Plane decides scope
 * (another tenant's instance answers 404).
 */
export const getInstanceToolPolicy: Handler<'getInstanceToolPolicy'> = async (req, ctx) => {
  const authorization = (req.headers as Record<string, string | undefined>).authorization;
  const ent = await callerEntitlements(ctx.deps.cp, req.params.instanceId, ctx.caller, authorization, { requestId: ctx.requestId, signal: ctx.signal });
  return { status: 200, body: await ctx.deps.tools.policy(req.params.instanceId, ctx.requestId, ent) };
};
