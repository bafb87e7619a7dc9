import type { Handler } from '../../generated/control-plane/operations';
import { userPrincipal } from '../../src/control-plane/access';
import { idempotent } from '../../src/control-plane/idempotent';
import { wire } from '../../src/platform/http/wire';
import { createOrgAuto as createWorkspace } from '../../src/tenancy/orgs';

/** POST /orgs/auto — the caller's personal org, default project and starter wallet (idempotent per user). */
export const createOrgAuto: Handler<'createOrgAuto'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const ws = await createWorkspace(trx, userPrincipal(ctx), { name: req.body?.name, moneyDeps: ctx.deps.money });
    return ws.created ? { status: 201 as const, body: wire(ws) } : { status: 200 as const, body: wire(ws) };
  });
