import type { Handler } from '../../generated/gateway/operations';
import { userToken } from '../../src/gateway/auth';
import { createWorkspace } from '../../src/gateway/trial';

/** POST /v1/workspaces/auto — the caller's workspace with starter credits, through the Control Plane's orgs/auto. */
export const createWorkspaceAuto: Handler<'createWorkspaceAuto'> = async (req, ctx) =>
  createWorkspace(ctx.deps, userToken(ctx.caller), req.body, req.headers['idempotency-key'], ctx);
