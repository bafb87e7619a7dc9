import type { InstanceState } from '../../generated/control-plane/types';

/**
 * How the platform learns what happened to committed desired state. Argo CD (through the
 * argocd-notifications webhook, handlers/control-plane/receive-argocd-notification.ts) and the
 * embedded built-in reconciler (src/gitops/builtin-reconciler.ts) report through this one
 * interface, so the instance lifecycle cannot tell them apart.
 */

export type SyncStatus = 'Synced' | 'OutOfSync' | 'Unknown';
export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
export type OperationPhase = 'Running' | 'Terminating' | 'Failed' | 'Error' | 'Succeeded';

export interface DeploymentHealthReport {
  instanceId: string;
  /** Argo CD Application name (`inst-<lower-case id>`, see src/gitops/naming.ts appNameFor). */
  application: string;
  sync: SyncStatus;
  health: HealthStatus;
  /**
   * The Git revision the status is about. With the built-in reconciler it is exactly the commit
   * that last changed (or named, for an unchanged rewrite) the instance. Argo CD reports the
   * repository HEAD it synced, which may be a later commit that touched other instances: decide
   * "is this report about my commit or newer" with `DesiredStateRepo.includes(revision, commit)`,
   * not string equality.
   */
  revision: string;
  operationPhase?: OperationPhase;
  message?: string;
  source: 'argocd' | 'builtin';
}

/**
 * What a report did to the instance; the body of the notification endpoint's 200
 * (ArgocdNotificationResult in specs/control-plane.openapi.yaml).
 */
export interface DeploymentHealthOutcome {
  instanceId: string;
  state: InstanceState;
  previousState: InstanceState;
  /** True when this report changed the instance state. */
  transitioned: boolean;
  /** True when the report is about an older revision than the instance's latest commit. */
  stale: boolean;
}

/**
 * Implemented by the instance service: store the report; Synced + Healthy at (or after) the
 * instance's latest commit moves `provisioning → active`; a report for an older revision is
 * recorded but changes nothing. Unknown instance → throw AppError NOT_FOUND (Argo CD does not
 * retry 4xx); a transient failure → throw anything else (Argo CD and the built-in reconciler retry).
 *
 * Note: the mission brief sketched `Promise<void>`; it returns the outcome because the
 * webhook's 200 answer (ArgocdNotificationResult) is made of it. Callers that do not need
 * it (the built-in reconciler) ignore it.
 */
export interface DeploymentHealthSink {
  report(r: DeploymentHealthReport): Promise<DeploymentHealthOutcome>;
}

