import type { Handler } from '../../generated/connector-gateway/operations';
import { AppError } from '../../src/platform/errors';

/**
 * GET /v1/instances/{instanceId}/tools — the effective connector policy. Platform services read it
 * with this service's token; a user's own token is forwarded so the Control Plane decides scope
 * (another tenant's instance answers 404).
 */
export const getInstanceToolPolicy: Handler<'getInstanceToolPolicy'> = async (req, ctx) => {
  const caller = ctx.caller;
  const o = { requestId: ctx.requestId, signal: ctx.signal };
  let ent;
  if (caller?.kind === 'service') {
    ent = await ctx.deps.cp.getEntitlements(req.params.instanceId, { kind: 'service' }, o);
  } else {
    const auth = (req.headers as Record<string, string | undefined>).authorization ?? '';
    const token = /^Bearer (.+)$/i.exec(auth)?.[1];
    if (!token) throw new AppError('UNAUTHENTICATED', 'A bearer token is required');
    ent = await ctx.deps.cp.getEntitlements(req.params.instanceId, { kind: 'bearer', token }, o);
  }
  return { status: 200, body: await ctx.deps.tools.policy(req.params.instanceId, ctx.requestId, ent) };
};
