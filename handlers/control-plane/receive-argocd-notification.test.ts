import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReceiveArgocdNotificationRequest } from '../../generated/control-plane/operations';
import type { ArgocdNotification } from '../../generated/control-plane/types';
import type { ControlPlaneDeps } from '../../src/control-plane/deps';
import type { DeploymentHealthOutcome, DeploymentHealthReport } from '../../src/gitops/health';
import { AppError } from '../../src/platform/errors';
import type { RequestContext } from '../../src/platform/http/handler-types';
import { createLogger } from '../../src/platform/logger';
import { receiveArgocdNotification } from './receive-argocd-notification';

const APP = 'inst-01j9zk5d6e7f8g9h0j1k2m3n4p';
const INSTANCE = 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P';
const REV = '4e1f0c2b9a7d6e5f3c1b0a9e8d7c6b5a4f3e2d1c';

function call(body: ArgocdNotification, answer?: (r: DeploymentHealthReport) => Promise<DeploymentHealthOutcome>) {
  const reports: DeploymentHealthReport[] = [];
  const deps = {
    deploymentHealth: {
      async report(r: DeploymentHealthReport) {
        reports.push(r);
        if (answer) return answer(r);
        return { instanceId: r.instanceId, state: 'active', previousState: 'provisioning', transitioned: true, stale: false } as DeploymentHealthOutcome;
      },
    },
  } as unknown as ControlPlaneDeps;
  const ctx = {
    operationId: 'receiveArgocdNotification',
    requestId: 'req_test',
    log: createLogger({ level: 'silent' }),
    deps,
    caller: { kind: 'webhook', subject: 'argocd-notifications', roles: new Set(['svc:argocd']), scheme: 'argocdWebhookAuth' },
    rawBody: Buffer.from(JSON.stringify(body)),
    signal: new AbortController().signal,
    annotate() {},
    allows: () => false,
  } as RequestContext<ControlPlaneDeps>;
  const req: ReceiveArgocdNotificationRequest = { params: {}, query: {}, headers: {}, body };
  return { result: receiveArgocdNotification(req, ctx), reports };
}

test('Synced + Healthy maps to a report for the instance and answers the outcome', async () => {
  const { result, reports } = call({ app: APP, sync: 'Synced', health: 'Healthy', rev: REV, operationPhase: 'Succeeded', message: 'successfully synced (all tasks run)' });
  const res = await result;
  assert.deepEqual(reports, [
    { instanceId: INSTANCE, application: APP, sync: 'Synced', health: 'Healthy', revision: REV, operationPhase: 'Succeeded', message: 'successfully synced (all tasks run)', source: 'argocd' },
  ]);
  assert.deepEqual(res, { status: 200, body: { instanceId: INSTANCE, state: 'active', previousState: 'provisioning', transitioned: true, stale: false } });
});

test('OutOfSync + Progressing with no operation yet maps without an operation phase or message', async () => {
  const { result, reports } = call({ app: APP, sync: 'OutOfSync', health: 'Progressing', rev: REV, operationPhase: '', message: '' }, async (r) => ({
    instanceId: r.instanceId,
    state: 'provisioning',
    previousState: 'provisioning',
    transitioned: false,
    stale: false,
  }));
  const res = await result;
  assert.deepEqual(reports, [{ instanceId: INSTANCE, application: APP, sync: 'OutOfSync', health: 'Progressing', revision: REV, source: 'argocd' }]);
  assert.equal(res.body.transitioned, false);
});

test('Degraded carries Argo CD\'s message through', async () => {
  const message = 'one or more objects failed to apply, reason: GatewayRoute.platform.agentstore.dev "x" is invalid: spec.path: Invalid value';
  const { result, reports } = call({ app: APP, sync: 'Synced', health: 'Degraded', rev: REV, operationPhase: 'Failed', message });
  await result;
  assert.equal(reports[0].health, 'Degraded');
  assert.equal(reports[0].operationPhase, 'Failed');
  assert.equal(reports[0].message, message);
});

test('an Application name that is not an instance answers 422 UNPROCESSABLE and reports nothing', async () => {
  for (const app of ['agentstore-platform', 'inst-', 'inst-01J9ZK5D6E7F8G9H0J1K2M3N4P', 'inst-01j9zk5d6e7f8g9h0j1k2m3n4', 'inst_01j9zk5d6e7f8g9h0j1k2m3n4p', 'inst-01j9zk5d6e7f8g9h0j1k2m3n4u']) {
    const { result, reports } = call({ app, sync: 'Synced', health: 'Healthy', rev: REV });
    await assert.rejects(result, (e: unknown) => e instanceof AppError && e.code === 'UNPROCESSABLE' && e.status === 422, app);
    assert.equal(reports.length, 0, app);
  }
});

test('a well-formed name of an instance the platform does not know answers the service\'s 404', async () => {
  const { result } = call({ app: APP, sync: 'Synced', health: 'Healthy', rev: REV }, async () => {
    throw new AppError('NOT_FOUND', 'Instance not found');
  });
  await assert.rejects(result, (e: unknown) => e instanceof AppError && e.status === 404);
});
