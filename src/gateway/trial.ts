/**
 * The trial path: a freshly signed-in buyer reaches a first result in three calls —
 * `POST /v1/workspaces/auto`, `POST /v1/instances/autoActivate`, `POST /v1/runs` (and the first
 * is optional: autoActivate creates the workspace when it is missing).
 *
 * Everything runs with the user's own token, so the Control Plane applies the user's scope.
 * autoActivate is idempotent per (user, offering version, plan, project): the Control Plane's
 * `createInstance` gets `Idempotency-Key: trial:<sha256 of version|plan|project>` (keys are
 * scoped per caller there, so the user is part of it), and a repeated call returns the same
 * instance (`created: false`).
 */
import { createHash } from 'node:crypto';
import type { Instance, Wallet, Workspace } from '../../generated/control-plane/types';
import type { AutoActivateRequest, AutoActivateResult, TrialWorkspace, WalletSummary, WorkspaceAutoRequest } from '../../generated/gateway/types';
import { AppError } from '../platform/errors';
import { clientGone } from './cp-client';
import type { GatewayDeps } from './deps';

interface TrialContext {
  requestId: string;
  signal: AbortSignal;
  annotate(fields: Record<string, unknown>): void;
}

export const DEFAULT_WAIT_SECONDS = 10;

export function walletSummary(w: Wallet): WalletSummary {
  return { id: w.id, balance: w.balance, available: w.available, paidBalance: w.paidBalance, grantedBalance: w.grantedBalance, lowBalance: w.lowBalance };
}

function trialWorkspace(ws: Workspace, created: boolean): TrialWorkspace {
  return {
    created,
    org: { id: ws.org.id, name: ws.org.name, personal: ws.org.personal },
    project: { id: ws.project.id, name: ws.project.name },
    wallet: walletSummary(ws.wallet),
  };
}

export async function createWorkspace(deps: GatewayDeps, userToken: string, body: WorkspaceAutoRequest | undefined, idempotencyKey: string | undefined, c: TrialContext): Promise<{ status: 200 | 201; body: TrialWorkspace }> {
  const res = await deps.cp.createOrgAuto(body ?? {}, userToken, { requestId: c.requestId, signal: c.signal, ...(idempotencyKey ? { idempotencyKey } : {}) });
  c.annotate({ orgId: res.body.org.id, projectId: res.body.project.id });
  const created = res.status === 201 && res.body.created;
  return { status: created ? 201 : 200, body: trialWorkspace(res.body, created) };
}

export function trialIdempotencyKey(versionId: string, planId: string, projectId: string): string {
  return `trial:${createHash('sha256').update(`${versionId}|${planId}|${projectId}`).digest('hex').slice(0, 40)}`;
}

export async function autoActivate(deps: GatewayDeps, userToken: string, body: AutoActivateRequest, c: TrialContext): Promise<{ status: 200 | 202; body: AutoActivateResult }> {
  if ((body.offeringId === undefined) === (body.offeringVersionId === undefined)) {
    throw new AppError('UNPROCESSABLE', 'Give exactly one of offeringId and offeringVersionId');
  }
  const o = { requestId: c.requestId, signal: c.signal };
  let versionId = body.offeringVersionId;
  if (body.offeringId) {
    const offering = await deps.cp.getOffering(body.offeringId, o);
    if (offering.lifecycle !== 'published' || !offering.publishedVersionId) {
      throw new AppError('UNPROCESSABLE', 'The offering has no published version to try', { offeringId: offering.id, lifecycle: offering.lifecycle });
    }
    versionId = offering.publishedVersionId;
  }
  let projectId = body.projectId;
  if (!projectId) {
    const ws = await deps.cp.createOrgAuto({}, userToken, o);
    projectId = ws.body.project.id;
  }
  const planId = body.planId ?? 'starter';
  const created = await deps.cp.createInstance(
    { projectId, offeringVersionId: versionId!, planId, ...(body.name ? { name: body.name } : {}) },
    userToken,
    { ...o, idempotencyKey: trialIdempotencyKey(versionId!, planId, projectId) },
  );
  let instance: Instance = created.body;
  c.annotate({ orgId: instance.orgId, projectId: instance.projectId, instanceId: instance.id });

  const deadline = Date.now() + (body.waitSeconds ?? DEFAULT_WAIT_SECONDS) * 1000;
  while (instance.state !== 'active' && (instance.state === 'requested' || instance.state === 'provisioning') && Date.now() < deadline) {
    await pause(Math.min(deps.pollIntervalMs, Math.max(0, deadline - Date.now())), c.signal);
    instance = await deps.cp.getInstance(instance.id, { kind: 'bearer', token: userToken }, o);
  }
  const wallet = await deps.cp.getWallet(instance.walletId, { kind: 'bearer', token: userToken }, o);
  const ready = instance.state === 'active';
  return {
    status: ready ? 200 : 202,
    body: {
      created: !created.replayed,
      ready,
      instance: {
        id: instance.id,
        orgId: instance.orgId,
        projectId: instance.projectId,
        offeringId: instance.offeringId,
        offeringVersionId: instance.offeringVersionId,
        planId: instance.planId,
        state: instance.state,
        walletId: instance.walletId,
        createdAt: instance.createdAt,
        activatedAt: instance.activatedAt,
      },
      wallet: walletSummary(wallet),
    },
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(clientGone());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(clientGone());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
