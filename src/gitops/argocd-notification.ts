import type { ArgocdNotification } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';
import type { DeploymentHealthReport } from './health';
import { instanceIdFromAppName } from './naming';

/**
 * An argocd-notifications webhook body (template in gitops/argocd/notifications-cm.yaml) as a
 * DeploymentHealthReport. The instance comes from the Application name the ApplicationSet
 * gives it (`inst-<lower-case id>`); any other name is not one of ours → 422 UNPROCESSABLE
 * (a 4xx, so argocd-notifications does not retry it).
 */
export function reportFromArgocdNotification(body: ArgocdNotification): DeploymentHealthReport {
  const instanceId = instanceIdFromAppName(body.app);
  if (!instanceId) {
    throw new AppError('UNPROCESSABLE', 'The Application is not an Agent Store instance (expected a name like inst-<instance id in lower case>)', { app: body.app });
  }
  const report: DeploymentHealthReport = {
    instanceId,
    application: body.app,
    sync: body.sync,
    health: body.health,
    revision: body.rev,
    source: 'argocd',
  };
  // The template renders a missing operationState as '' (no operation has run yet).
  if (body.operationPhase) report.operationPhase = body.operationPhase;
  if (body.message) report.message = body.message;
  return report;
}
