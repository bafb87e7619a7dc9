import type { Knex } from 'knex';
import type { Identity } from '../auth/identity';
import { createGitops } from '../gitops';
import type { DeploymentHealthReport } from '../gitops/health';
import { auditMoneyEvents } from '../audit';
import { DesiredStateSync } from '../instances/desired-state-sync';
import { startMoneySweepers, type Sweepers } from '../money/sweeper';
import { startUsageFolder, type UsageFolder } from '../money/usage-journal';
import { isPglite } from '../db';
import type { Config } from '../platform/config';
import { seedDemo } from '../catalog/demo-seed';
import type { Logger } from '../platform/logger';
import { createSecretStore } from '../secrets';
import { RagService, createRagBackend } from '../rag';
import { createObjectStore } from '../storage';
import type { ControlPlaneDeps } from './deps';
import { createTriggers } from '../scheduler';
import { buildNotifications } from '../notifications';

/** Provisioning longer than this shows as stuck (and on the stuck-instances alert). */
const STUCK_AFTER_MS = 10 * 60_000;

export interface ControlPlaneRuntime {
  deps: ControlPlaneDeps;
  /** Starts background work: the built-in reconciler (or the GitOps remote) and the provisioning sweeper. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Everything the control plane's handlers use: the object store, the desired-state repository
 * with its reconciler, and the desired-state sync that both writes desired state and receives
 * deployment health (from the built-in reconciler or Argo CD's webhook).
 */
export function buildControlPlane(
  base: { config: Config; log: Logger; db: Knex; identity: Identity },
  opts: { publicUrl: () => string; gatewayUrl?: () => string; onLifecycleChange?: (instanceId: string) => void },
): ControlPlaneRuntime {
  const { config, log, db } = base;
  let desiredState: DesiredStateSync | undefined;
  const gitops = createGitops({
    config: config.gitops,
    log,
    sink: { report: (r: DeploymentHealthReport) => desiredState!.report(r) },
  });
  desiredState = new DesiredStateSync({ db, repo: gitops.repo, env: gitops.config.env, vaultMount: config.vault.mount, log: log.child({ component: 'instances' }) });
  const objectStore = createObjectStore(config.storage, opts.publicUrl);
  const secrets = createSecretStore(config);
  const deps: ControlPlaneDeps = {
    ...base,
    // Low-balance warnings become `wallet.low_balance` audit events (after the change commits).
    money: { events: auditMoneyEvents(db), onEventError: (err) => log.error({ err }, 'audit of a money event failed') },
    objectStore,
    rag: new RagService(db, createRagBackend(config.rag, db), objectStore, log.child({ component: 'rag' }), { uploadCapBytes: config.rag.maxUploadBytes }),
    deploymentHealth: desiredState,
    secrets,
    notifications: buildNotifications({ db, secrets, config: config.notifications, log: log.child({ component: 'notifications' }) }),
    triggers: createTriggers({ config, identity: base.identity, db, log: log.child({ component: 'scheduler' }), gatewayUrl: opts.gatewayUrl ?? (() => config.urls.gateway), publicUrl: opts.publicUrl }),
    instances: { db, desiredState, env: gitops.config.env, stuckAfterMs: STUCK_AFTER_MS, onLifecycleChange: opts.onLifecycleChange },
  };
  let sweepers: Sweepers | undefined;
  let folder: UsageFolder | undefined;
  return {
    deps,
    async start() {
      await gitops.start();
      await deps.rag.worker.resume();
      desiredState!.startSweeper();
      // Expired reservations release their budget; idempotency keys older than their TTL go.
      // Due schedules start their runs through the gateway (every replica may run it: elected per slot).
      deps.triggers.start();
      // The outbox: low-balance and suspension notices go out as signed webhooks and e-mails.
      deps.notifications.start();
      sweepers = startMoneySweepers(db, { objectStore, onError: (err, sweeper) => log.error({ err, sweeper }, 'money sweeper failed') }, deps.money);
      // Quota runs' charges that gateways recorded in the usage journal become ledger debits (PostgreSQL only: a gateway reaches no PGlite).
      if (!isPglite(db)) folder = startUsageFolder(db, { money: deps.money, log: log.child({ component: 'usage-journal' }) });
      if (config.seedDemo) await seedDemo(db, deps.objectStore, log.child({ component: 'seed-demo' }));
    },
    async stop() {
      await deps.triggers.stop();
      await deps.rag.worker.stop();
      await sweepers?.stop();
      await folder?.stop();
      await deps.notifications.stop();
      await desiredState!.stop();
      await gitops.stop();
    },
  };
}
