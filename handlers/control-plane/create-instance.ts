import type { Handler } from '../../generated/control-plane/operations';
import { isPlatformOperator, projectScope } from '../../src/control-plane/access';
import { idempotent } from '../../src/control-plane/idempotent';
import { toInstance } from '../../src/instances/rows';
import { createInstanceRecord } from '../../src/instances/service';

/** POST /instances — from an offering version + plan; committed to GitOps, active once deployed. */
export const createInstance: Handler<'createInstance'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const access = projectScope(ctx);
    const env = ctx.deps.instances;
    const row = await createInstanceRecord(env, trx, {
      orgId: access.orgId,
      projectId: req.body.projectId,
      versionId: req.body.offeringVersionId,
      planId: req.body.planId,
      name: req.body.name,
      walletId: req.body.walletId,
      overrides: req.body.configOverrides as Record<string, Record<string, unknown>> | undefined,
      overridesBy: isPlatformOperator(ctx.caller) ? 'operator' : 'buyer',
      planBy: isPlatformOperator(ctx.caller) ? 'operator' : 'buyer',
      source: 'api',
      actor: ctx.caller!.subject,
      requestId: ctx.requestId,
    });
    ctx.annotate({ orgId: row.org_id, projectId: row.project_id, instanceId: row.id });
    return { status: 201 as const, body: toInstance(row, env.env, env.stuckAfterMs) };
  });
