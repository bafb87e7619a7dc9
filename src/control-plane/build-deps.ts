import type { Knex } from 'knex';
import type { Identity } from '../auth/identity';
import { createGitops, gitopsConfigFromEnv } from '../gitops';
import type { DeploymentHealthReport } from '../gitops/health';
import { auditMoneyEvents } from '../audit';
import { InstanceProvisioner } from '../instances/provisioning';
import { startMoneySweepers, type Sweepers } from '../money/sweeper';
import type { Config } from '../platform/config';
import { seedDemo } from '../../scripts/seed-demo';
import type { Logger } from '../platform/logger';
import { createSecretStore } from '../secrets';
import { RagService, ragBackendFromEnv, uploadCapFromEnv } from '../rag';
import { createObjectStore, storageSettingsFromEnv } from '../storage';
import type { ControlPlaneDeps } from './deps';

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
 * with its reconciler, and the instance provisioner that both writes desired state and receives
 * deployment health (from the built-in reconciler or Argo CD's webhook).
 */
export function buildControlPlane(
  base: { config: Config; log: Logger; db: Knex; identity: Identity; env?: Record<string, string | undefined> },
  opts: { publicUrl: () => string; onLifecycleChange?: (instanceId: string) => void },
): ControlPlaneRuntime {
  const { config, log, db } = base;
  const env = base.env ?? process.env;
  let provisioner: InstanceProvisioner | undefined;
  const gitops = createGitops({
    config: gitopsConfigFromEnv(env, config.dataDir),
    log,
    sink: { report: (r: DeploymentHealthReport) => provisioner!.report(r) },
  });
  provisioner = new InstanceProvisioner({ db, repo: gitops.repo, env: gitops.config.env, log: log.child({ component: 'instances' }) });
  const objectStore = createObjectStore(storageSettingsFromEnv(env, config.dataDir), opts.publicUrl);
  const deps: ControlPlaneDeps = {
    ...base,
    // Low-balance warnings become `wallet.low_balance` audit events (after the change commits).
    money: { events: auditMoneyEvents(db), onEventError: (err) => log.error({ err }, 'audit of a money event failed') },
    objectStore,
    rag: new RagService(db, ragBackendFromEnv(env, db), objectStore, log.child({ component: 'rag' }), { uploadCapBytes: uploadCapFromEnv(env) }),
    deploymentHealth: provisioner,
    secrets: createSecretStore(config),
    instances: { db, provisioner, env: gitops.config.env, stuckAfterMs: STUCK_AFTER_MS, onLifecycleChange: opts.onLifecycleChange },
  };
  let sweepers: Sweepers | undefined;
  return {
    deps,
    async start() {
      await gitops.start();
      await deps.rag.worker.resume();
      provisioner!.startSweeper();
      // Expired reservations release their budget; idempotency keys older than their TTL go.
      sweepers = startMoneySweepers(db, { onError: (err, sweeper) => log.error({ err, sweeper }, 'money sweeper failed') }, deps.money);
      if (config.seedDemo) await seedDemo(db, deps.objectStore, log.child({ component: 'seed-demo' }));
    },
    async stop() {
      await deps.rag.worker.stop();
      await sweepers?.stop();
      await provisioner!.stop();
      await gitops.stop();
    },
  };
}
