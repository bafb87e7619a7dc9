import type { Handler } from '../../generated/control-plane/operations';
import { loadInstance } from '../../src/instances/access';
import { rotateWebhookSecret } from '../../src/scheduler/triggers-api';

/** POST /instances/{instanceId}/triggers/webhook/secret — the webhook trigger's new secret, shown once. */
export const rotateWebhookTriggerSecret: Handler<'rotateWebhookTriggerSecret'> = async (req, ctx) => {
  const row = await loadInstance(ctx.deps.db, req.params.instanceId);
  ctx.annotate({ orgId: row.org_id, projectId: row.project_id, instanceId: row.id });
  return { status: 201, body: await rotateWebhookSecret(ctx.deps.db, ctx.deps.secrets, ctx.deps.triggers, row) };
};
