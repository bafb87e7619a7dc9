import type { Instance, InstanceEvent, InstanceState } from '../../generated/control-plane/types';
import { appNameFor, instanceDir } from '../gitops/naming';
import type { Wire } from '../platform/http/wire';

export interface InstanceRow {
  id: string;
  org_id: string;
  project_id: string;
  offering_id: string;
  version_id: string;
  plan_id: Instance['planId'];
  wallet_id: string;
  name: string;
  state: InstanceState;
  source: Instance['source'];
  source_ref: string | null;
  config_overrides: Record<string, Record<string, unknown>>;
  effective_config: Record<string, Record<string, unknown>>;
  generation: number;
  committed_generation: number;
  gitops_commit: string | null;
  gitops_sync: Instance['gitops']['sync'];
  gitops_health: Instance['gitops']['health'];
  gitops_phase: Instance['gitops']['operationPhase'] | null;
  gitops_message: string | null;
  gitops_reported_at: Date | null;
  observed_revision: string | null;
  observed_sync: string | null;
  observed_health: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  provisioning_since: Date | null;
  activated_at: Date | null;
  terminated_at: Date | null;
}

export interface InstanceEventRow {
  id: string;
  instance_id: string;
  seq: number;
  type: InstanceEvent['type'];
  from_state: InstanceState | null;
  to_state: InstanceState;
  commit: string | null;
  message: string | null;
  actor: string;
  created_at: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The API shape of an instance. `stuckAfterMs`: provisioning longer than this is flagged stuck. */
export function toInstance(r: InstanceRow, env: string, stuckAfterMs: number, now = Date.now()): Wire<Instance> {
  const gitops: Wire<Instance>['gitops'] = {
    path: `${instanceDir({ env, orgId: r.org_id, projectId: r.project_id, instanceId: r.id })}/`,
    appName: appNameFor(r.id),
    commit: r.gitops_commit,
    sync: r.gitops_sync,
    health: r.gitops_health,
    message: r.gitops_message,
    reportedAt: iso(r.gitops_reported_at),
  };
  if (r.gitops_phase) gitops.operationPhase = r.gitops_phase;
  return {
    id: r.id,
    orgId: r.org_id,
    projectId: r.project_id,
    offeringId: r.offering_id,
    offeringVersionId: r.version_id,
    planId: r.plan_id,
    name: r.name,
    state: r.state,
    walletId: r.wallet_id,
    source: r.source,
    configOverrides: r.config_overrides,
    gitops,
    stuck: isStuck(r, stuckAfterMs, now),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    provisioningSince: iso(r.provisioning_since),
    activatedAt: iso(r.activated_at),
    terminatedAt: iso(r.terminated_at),
  };
}

export function isStuck(r: Pick<InstanceRow, 'state' | 'provisioning_since' | 'created_at'>, stuckAfterMs: number, now = Date.now()): boolean {
  if (r.state !== 'requested' && r.state !== 'provisioning') return false;
  const since = r.provisioning_since ?? r.created_at;
  return now - since.getTime() > stuckAfterMs;
}

export function toInstanceEvent(r: InstanceEventRow): Wire<InstanceEvent> {
  const e: Wire<InstanceEvent> = {
    id: r.id,
    instanceId: r.instance_id,
    type: r.type,
    toState: r.to_state,
    commit: r.commit,
    message: r.message,
    actor: r.actor,
    createdAt: r.created_at.toISOString(),
  };
  if (r.from_state) e.fromState = r.from_state;
  return e;
}
