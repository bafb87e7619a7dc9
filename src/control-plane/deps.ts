import type { Knex } from 'knex';
import type { Identity } from '../auth/identity';
import type { MoneyDeps } from '../money/types';
import type { DeploymentHealthSink } from '../gitops/health';
import type { InstancesEnv } from '../instances/service';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { SecretStore } from '../secrets/secret-store';
import type { RagService } from '../rag/service';
import type { ObjectStore } from '../storage/object-store';
import type { Triggers } from '../scheduler';
import type { Notifications } from '../notifications';

/** What every control-plane handler receives as `ctx.deps`. */
export interface ControlPlaneDeps {
  config: Config;
  log: Logger;
  db: Knex;
  identity: Identity;
  /** Clock and event sink of the money domain (low-balance events go to the audit log). */
  money: MoneyDeps;
  /** Where Argo CD notifications (and the built-in reconciler) report instance deployment health. */
  deploymentHealth: DeploymentHealthSink;
  /** Flow artifacts and RAG uploads (local files by default, S3/MinIO when S3_BUCKET is set). */
  objectStore: ObjectStore;
  /** Instance lifecycle: the desired-state sync (GitOps writer + health sink) and its settings. */
  instances: InstancesEnv;
  /** Knowledge bases: uploads, async ingestion and tenant-scoped retrieval (src/rag). */
  rag: RagService;
  /** Connector credentials (Vault KV v2, or the encrypted local store). */
  secrets: SecretStore;
  /** Schedules and webhook triggers: the scheduler that starts their runs through the gateway. */
  triggers: Triggers;
  /** Org notifications: the webhook target policy, the e-mail transport, the outbox worker. */
  notifications: Notifications;
}
