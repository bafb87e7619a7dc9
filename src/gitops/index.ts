import { validateManifest } from '../capabilities/manifest-schemas';
import type { Logger } from '../platform/logger';
import { BuiltinReconciler } from './builtin-reconciler';
import type { GitopsConfig } from './config';
import { GitDesiredStateRepo } from './desired-state-repo';
import type { DeploymentHealthSink } from './health';
import type { ManifestValidator } from './kustomization';

export { BuiltinReconciler } from './builtin-reconciler';
export type { GitopsConfig } from './config';
export { GitDesiredStateRepo, createDesiredStateRepo, type DesiredStateRepo, type DesiredStateAction, type WriteInstanceInput, type RemoveInstanceInput } from './desired-state-repo';
export type { DeploymentHealthReport, DeploymentHealthSink, DeploymentHealthOutcome } from './health';
export { appNameFor, instanceDir, instanceIdFromAppName, tenantNamespace, LABELS } from './naming';

export interface Gitops {
  config: GitopsConfig;
  repo: GitDesiredStateRepo;
  /** Present when `config.reconciler` is `builtin`. */
  reconciler?: BuiltinReconciler;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The desired-state repository and, on the embedded default, the built-in reconciler reporting
 * to `sink` (the instance service). With `GITOPS_RECONCILER=argocd` health arrives through the
 * Argo CD notifications webhook instead, to the same sink.
 */
export function createGitops(opts: { config: GitopsConfig; log: Logger; sink: DeploymentHealthSink; validate?: ManifestValidator; pollIntervalMs?: number }): Gitops {
  const log = opts.log.child({ component: 'gitops' });
  const repo = new GitDesiredStateRepo({ dir: opts.config.dir, branch: opts.config.branch, author: opts.config.author, remote: opts.config.remote, log });
  const reconciler =
    opts.config.reconciler === 'builtin'
      ? new BuiltinReconciler({ repo, sink: opts.sink, validateManifest: opts.validate ?? validateManifest, log, envs: [opts.config.env], pollIntervalMs: opts.pollIntervalMs })
      : undefined;
  return {
    config: opts.config,
    repo,
    reconciler,
    async start() {
      if (reconciler) await reconciler.start();
      else await repo.head(); // initialise (clone/fetch) at start-up, not on the first order
    },
    async stop() {
      await reconciler?.stop();
    },
  };
}
