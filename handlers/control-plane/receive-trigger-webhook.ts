import type { Handler } from '../../generated/control-plane/operations';
import { acceptDelivery } from '../../src/scheduler/triggers-api';

/** POST /triggers/{triggerId}/webhook — a signed delivery starts a run (src/scheduler/webhook.ts). */
export const receiveTriggerWebhook: Handler<'receiveTriggerWebhook'> = async (req, ctx) => {
  ctx.annotate({ triggerId: req.params.triggerId });
  const body = await acceptDelivery(ctx.deps.db, ctx.deps.secrets, ctx.deps.triggers, {
    triggerId: req.params.triggerId,
    timestamp: req.headers['x-trigger-timestamp'],
    signature: req.headers['x-trigger-signature'],
    rawBody: ctx.rawBody,
    body: req.body as Record<string, unknown>,
    requestId: ctx.requestId,
  });
  ctx.annotate({ instanceId: body.instanceId, runId: body.runId });
  return { status: 202, body };
};
