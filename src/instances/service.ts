import type { Knex } from 'knex';
import type { Instance, PlanId } from '../../generated/control-plane/types';
import { actorFromString, recordAudit } from '../audit';
import { afterCommit } from '../db/tx';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import type { ConfigLayer } from '../capabilities/settable-by';
import { instanceConfig } from './config';
import { assertPlanAllowed, type PlanAuthority } from './plans';
import { lockInstance, recordEvent } from './events';
import { assertAction, stateAfter, type InstanceAction } from './lifecycle';
import type { DesiredStateSync, SyncAction } from './desired-state-sync';
import { instanceNotFound } from './access';
import type { InstanceRow } from './rows';
import { instantiableVersion } from './versions';
import type { PartialModelObject } from 'objection';
import { OfferingVersionModel } from '../catalog/models';
import { WalletModel } from '../money/models';
import { InstanceModel } from './models';

export interface InstancesEnv {
  db: Knex;
  desiredState: DesiredStateSync;
  /** GitOps environment (`clusters/<env>/…`). */
  env: string;
  /** Provisioning longer than this is reported as stuck. */
  stuckAfterMs: number;
  now?: () => Date;
  /** Told (after commit) about every day-2 change, so gateways drop cached entitlements. */
  onLifecycleChange?: (instanceId: string) => void;
}

export interface NewInstance {
  orgId: string;
  projectId: string;
  versionId: string;
  planId: PlanId;
  name?: string;
  walletId?: string;
  overrides?: Record<string, Record<string, unknown>>;
  /** Who writes `overrides` (default the buyer): fields that layer may not set are refused. */
  overridesBy?: ConfigLayer;
  /** Who puts the instance on its plan: a buyer gets only trial plans (default: the buyer). */
  planBy?: PlanAuthority;
  source: Instance['source'];
  /** Unique per source (e.g. `saleor:<orderId>:<lineId>`): a second create returns the first. */
  sourceRef?: string;
  actor: string;
  /** The request behind the change (recorded in the audit event). */
  requestId?: string | null;
}

/** The wallet that pays for an instance: the one named (same org), the project's, or the org's default project's. */
async function resolveWallet(trx: Knex.Transaction, orgId: string, projectId: string, walletId?: string): Promise<string> {
  if (walletId) {
    const w = await WalletModel.query(trx).select('id').where({ id: walletId, org_id: orgId }).first();
    if (!w) throw new AppError('NOT_FOUND', 'Wallet not found');
    return w.id;
  }
  const w = await WalletModel.query(trx)
    .select('wallets.id')
    .leftJoin('projects', 'projects.id', 'wallets.project_id')
    .where('wallets.org_id', orgId)
    .orderByRaw('(wallets.project_id = ?) desc, projects.is_default desc nulls last, wallets.created_at asc', [projectId])
    .first();
  if (!w) throw new AppError('UNPROCESSABLE', 'The org has no wallet to pay for runs', { orgId });
  return w.id;
}

/**
 * Records a new instance (state `requested`) with its effective config; the desired-state commit
 * follows once the caller's transaction commits. Tenant access is the caller's job.
 */
export async function createInstanceRecord(env: InstancesEnv, trx: Knex.Transaction, input: NewInstance): Promise<InstanceRow> {
  if (input.sourceRef) {
    const existing: InstanceRow | undefined = await InstanceModel.query(trx).where({ source: input.source, source_ref: input.sourceRef }).first();
    if (existing) return existing;
  }
  const v = await instantiableVersion(trx, input.versionId, input.planId, 'create');
  assertPlanAllowed(v.plan, input.planBy ?? 'buyer', v.version.plans);
  const effective = instanceConfig(v, input.overrides, { layer: input.overridesBy ?? 'buyer' });
  const walletId = await resolveWallet(trx, input.orgId, input.projectId, input.walletId);
  const now = env.now?.() ?? new Date();
  const id = newId('inst', now.getTime());
  const row = await InstanceModel.query(trx)
    .insert({
      id,
      org_id: input.orgId,
      project_id: input.projectId,
      offering_id: v.offeringId,
      version_id: v.version.id,
      plan_id: input.planId,
      wallet_id: walletId,
      name: input.name ?? `${v.plan.name} instance`,
      state: 'requested',
      source: input.source,
      source_ref: input.sourceRef ?? null,
      config_overrides: input.overrides ?? {},
      effective_config: effective,
      created_by: input.actor,
      created_at: now,
      updated_at: now,
    })
    .returning('*');
  await recordEvent(trx, id, { type: 'created', to: 'requested', actor: input.actor, message: `${v.version.id} ${input.planId}` }, now);
  await recordAudit(trx, {
    orgId: input.orgId,
    projectId: input.projectId,
    action: 'instance.created',
    resourceType: 'instance',
    resourceId: id,
    actor: actorFromString(input.actor),
    requestId: input.requestId,
    data: { instanceId: id, offeringId: v.offeringId, versionId: v.version.id, planId: input.planId, walletId, source: input.source },
    at: now,
  });
  afterCommit(trx, () => env.desiredState.kick(id, { actor: input.actor, action: 'create' }));
  return row;
}

export interface ActionInput {
  action: InstanceAction;
  actor: string;
  /** The request behind the change (recorded in the audit event). */
  requestId?: string | null;
  reason?: string;
  /** upgrade */
  targetVersionId?: string;
  planId?: PlanId;
  /** update */
  name?: string;
  configOverrides?: Record<string, Record<string, unknown>>;
  /** A platform operator acts (may set operator-only config fields and move to a paid plan). */
  byOperator?: boolean;
  /** upgrade: who moves the instance to `planId` (default: the operator when `byOperator`, else the buyer). */
  planBy?: PlanAuthority;
}

/**
 * A day-2 action: checked against the lifecycle table under the row lock, recorded with a new
 * desired-state generation, and committed to Git after the transaction (pause/resume/terminate
 * take effect at the gateway at once, since it reads the state from here).
 */
export async function applyAction(env: InstancesEnv, trx: Knex.Transaction, instanceId: string, input: ActionInput): Promise<InstanceRow> {
  const row = await lockInstance(trx, instanceId);
  if (!row) throw instanceNotFound();
  assertAction(input.action, row.state);
  const now = env.now?.() ?? new Date();
  // Any day-2 action is the org's own decision: a credit no longer resumes the instance by itself.
  const patch: PartialModelObject<InstanceModel> = { generation: row.generation + 1, updated_at: now, suspended_for_credits: false };
  const to = stateAfter(input.action, row.state);
  if (to !== row.state) patch.state = to;
  if (to === 'terminated') patch.terminated_at = now;
  let message = input.reason ?? null;

  if (input.action === 'upgrade') {
    const targetId = input.targetVersionId ?? (await latestCertifiedVersion(trx, row.offering_id));
    const planId = input.planId ?? row.plan_id;
    if (targetId === row.version_id && planId === row.plan_id) {
      throw new AppError('CONFLICT', 'The instance already runs this version and plan', { versionId: targetId, planId });
    }
    const v = await instantiableVersion(trx, targetId, planId, 'upgrade');
    if (planId !== row.plan_id) assertPlanAllowed(v.plan, input.planBy ?? (input.byOperator ? 'operator' : 'buyer'), v.version.plans);
    if (v.offeringId !== row.offering_id) throw new AppError('UNPROCESSABLE', 'An instance can only be upgraded to a version of its own offering', { offeringId: row.offering_id });
    Object.assign(patch, { version_id: targetId, plan_id: planId, effective_config: instanceConfig(v, row.config_overrides) });
    message = `${row.version_id} → ${targetId}${planId !== row.plan_id ? ` (${row.plan_id} → ${planId})` : ''}`;
  }
  if (input.action === 'update') {
    if (input.name !== undefined) patch.name = input.name;
    if (input.configOverrides !== undefined) {
      const v = await instantiableVersion(trx, row.version_id, row.plan_id, 'upgrade');
      const overrides = mergedOverrides(row.config_overrides, input.configOverrides);
      const effective = instanceConfig(v, overrides, { layer: input.byOperator ? 'operator' : 'buyer', previous: row.config_overrides });
      Object.assign(patch, { config_overrides: overrides, effective_config: effective });
    }
  }
  const [updated] = (await InstanceModel.query(trx).where({ id: instanceId }).patch(patch).returning('*')) as InstanceRow[];
  await recordEvent(trx, instanceId, { type: EVENT_OF[input.action], from: row.state, to, actor: input.actor, message }, now);
  await recordAudit(trx, {
    orgId: row.org_id,
    projectId: row.project_id,
    action: `instance.${EVENT_OF[input.action]}`,
    resourceType: 'instance',
    resourceId: instanceId,
    actor: actorFromString(input.actor),
    requestId: input.requestId,
    data: { instanceId, from: row.state, to, versionId: updated.version_id, planId: updated.plan_id, ...(message ? { message } : {}) },
    at: now,
  });
  const syncAction: SyncAction | undefined = input.action === 'terminate' ? undefined : input.action;
  const rotatedAt = input.action === 'rotate-secrets' ? now.toISOString() : undefined;
  afterCommit(trx, () => env.desiredState.kick(instanceId, { actor: input.actor, action: syncAction, rotatedAt }));
  if (env.onLifecycleChange) afterCommit(trx, () => env.onLifecycleChange!(instanceId));
  return updated;
}

/**
 * An update's overrides: each capability it names replaces that capability's overrides (`{}`
 * clears them); the capabilities it does not name keep theirs.
 */
export function mergedOverrides(previous: unknown, changes: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = { ...((previous ?? {}) as Record<string, Record<string, unknown>>) };
  for (const [capability, fields] of Object.entries(changes)) {
    if (Object.keys(fields ?? {}).length === 0) delete out[capability];
    else out[capability] = fields;
  }
  return out;
}

const EVENT_OF: Record<InstanceAction, 'paused' | 'resumed' | 'upgrade_requested' | 'secrets_rotated' | 'config_updated' | 'terminated'> = {
  pause: 'paused',
  resume: 'resumed',
  upgrade: 'upgrade_requested',
  'rotate-secrets': 'secrets_rotated',
  update: 'config_updated',
  terminate: 'terminated',
};

async function latestCertifiedVersion(trx: Knex.Transaction, offeringId: string): Promise<string> {
  const v = await OfferingVersionModel.query(trx)
    .select('id')
    .where({ offering_id: offeringId, certification_status: 'passed' })
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .first();
  if (!v) throw new AppError('UNPROCESSABLE', 'The offering has no certified version to upgrade to', { offeringId });
  return v.id;
}
