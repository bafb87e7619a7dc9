import type { Handler } from '../../generated/control-plane/operations';
import { reportFromArgocdNotification } from '../../src/gitops/argocd-notification';

/**
 * POST /integrations/argocd/notifications — argocd-notifications tells us an instance
 * Application's sync/health. The token was checked by the platform (X-Argocd-Webhook-Token);
 * the instance service behind `deploymentHealth` stores the report and moves the instance
 * (Synced + Healthy at its latest commit → active). Malformed app name → 422; unknown
 * instance → 404 from the service; both 4xx, which Argo CD does not retry.
 */
export const receiveArgocdNotification: Handler<'receiveArgocdNotification'> = async (req, ctx) => {
  const report = reportFromArgocdNotification(req.body);
  ctx.annotate({ instanceId: report.instanceId, argocdApp: report.application });
  const outcome = await ctx.deps.deploymentHealth.report(report);
  return {
    status: 200,
    body: {
      instanceId: outcome.instanceId,
      state: outcome.state,
      previousState: outcome.previousState,
      transitioned: outcome.transitioned,
      stale: outcome.stale,
    },
  };
};
