import type { Knex } from 'knex';
import type { Identity } from '../auth/identity';
import type { DeploymentHealthSink } from '../gitops/health';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { ObjectStore } from '../storage/object-store';

/** What every control-plane handler receives as `ctx.deps`. */
export interface ControlPlaneDeps {
  config: Config;
  log: Logger;
  db: Knex;
  identity: Identity;
  /** Where Argo CD notifications (and the built-in reconciler) report instance deployment health. */
  deploymentHealth: DeploymentHealthSink;
  /** Flow artifacts and RAG uploads (local files by default, S3/MinIO when S3_BUCKET is set). */
  objectStore: ObjectStore;
}
