import type { Handler } from '../../generated/control-plane/operations';
import { projectScope } from '../../src/control-plane/access';
import { idempotent } from '../../src/control-plane/idempotent';
import { createBinding, toBinding } from '../../src/connectors/bindings';
import { refreshConnectorPolicies } from '../../src/connectors/policy-refresh';

/** POST /connectors/bindings — the credential goes to the secret store; the answer holds only its reference. */
export const createConnectorBinding: Handler<'createConnectorBinding'> = (req, ctx) =>
  idempotent(req, ctx, async (trx) => {
    const access = projectScope(ctx);
    const row = await createBinding(
      trx,
      ctx.deps.secrets,
      ctx.deps.config.vault.mount,
      {
        orgId: access.orgId,
        projectId: req.body.projectId,
        instanceId: req.body.instanceId,
        connectorId: req.body.connectorId,
        name: req.body.name,
        credential: req.body.credential as Record<string, string>,
        settings: req.body.settings as Record<string, string> | undefined,
        actor: ctx.caller!.subject,
        requestId: ctx.requestId,
      },
      ctx.deps.log,
    );
    await refreshConnectorPolicies(ctx.deps.instances, trx, { projectId: row.project_id, instanceId: row.instance_id }, ctx.caller!.subject);
    ctx.annotate({ orgId: row.org_id, projectId: row.project_id });
    return { status: 201 as const, body: toBinding(row) };
  });
