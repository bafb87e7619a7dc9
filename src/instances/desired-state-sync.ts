import type { Knex } from 'knex';
import type { DesiredStateRepo } from '../gitops/desired-state-repo';
import type { DeploymentHealthOutcome, DeploymentHealthReport, DeploymentHealthSink } from '../gitops/health';
import { recordAudit } from '../audit';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import { bindingsOfInstance } from '../connectors/bindings';
import { renderDesiredState } from './desired-state';
import { lockInstance, recordEvent } from './events';
import type { InstanceRow } from './rows';
import { InstanceModel } from './models';

export interface DesiredStateSyncOptions {
  db: Knex;
  repo: DesiredStateRepo;
  env: string;
  /** The Vault KV v2 mount connector credentials live in (VAULT_KV_MOUNT): ExternalSecrets reference `<mount>/data/…`. */
  vaultMount?: string;
  log: Logger;
  now?: () => Date;
}

/**
 * Turns the database's view of an instance into commits in the desired-state repository, and
 * the deployment health reports about those commits back into instance states.
 *
 * Every change first commits to the database (state, effective config, `generation + 1`); then
 * `sync()` renders the CURRENT row and commits it to Git, and records which generation that
 * commit carries. If the row moved on meanwhile, it renders again, so Git always ends at the
 * latest state whatever order concurrent writers finish in. Syncs of one instance are serialized
 * in-process; a crash between the two steps leaves `committed_generation < generation`, which
 * `sweep()` (run at start-up and periodically) finishes.
 */
export class DesiredStateSync implements DeploymentHealthSink {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly now: () => Date;
  private sweeping?: NodeJS.Timeout;

  constructor(private readonly o: DesiredStateSyncOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** Commits the instance's current desired state (serialized per instance). */
  sync(instanceId: string, opts: { actor?: string; action?: SyncAction; rotatedAt?: string } = {}): Promise<void> {
    const prev = this.chains.get(instanceId) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(() => this.syncNow(instanceId, opts));
    this.chains.set(instanceId, next);
    void next.finally(() => {
      if (this.chains.get(instanceId) === next) this.chains.delete(instanceId);
    }).catch(() => {});
    return next;
  }

  /** Starts the background sync of a committed change; failures are logged and swept later. */
  kick(instanceId: string, opts: { actor?: string; action?: SyncAction; rotatedAt?: string } = {}): void {
    this.sync(instanceId, opts).catch((err) => this.o.log.error({ err, instanceId }, 'desired-state commit failed; will retry'));
  }

  private async syncNow(instanceId: string, opts: { actor?: string; action?: SyncAction; rotatedAt?: string }): Promise<void> {
    const { db, repo, env } = this.o;
    for (let attempt = 0; attempt < 5; attempt++) {
      const row: InstanceRow | undefined = await InstanceModel.query(db).where({ id: instanceId }).first();
      if (!row || row.committed_generation >= row.generation) return;
      const ref = { env, orgId: row.org_id, projectId: row.project_id, instanceId: row.id };
      const written =
        row.state === 'terminated'
          ? await repo.removeInstance({ ...ref, actor: opts.actor })
          : await repo.writeInstance({
              ...ref,
              manifests: renderDesiredState(row, env, {
                rotatedAt: opts.rotatedAt,
                vaultMount: this.o.vaultMount,
                // Active bindings as Vault references: ExternalSecrets in the desired state.
                bindings: (await bindingsOfInstance(db, row, { activeOnly: true })).map((b) => ({ bindingId: b.id, connectorId: b.connector_id, vaultPath: b.vault_path })),
              }),
              action: opts.action ?? (row.committed_generation === 0 ? 'create' : 'update'),
              actor: opts.actor,
            });
      const done = await db.transaction(async (trx) => {
        const cur = await lockInstance(trx, instanceId);
        if (!cur || cur.generation !== row.generation) return false; // moved on: render again
        const now = this.now();
        const patch: Partial<InstanceRow> = {
          committed_generation: row.generation,
          gitops_commit: written.revision,
          gitops_sync: 'OutOfSync',
          gitops_health: row.state === 'terminated' ? 'Missing' : 'Progressing',
          updated_at: now,
        };
        let to = cur.state;
        if (cur.state === 'requested') {
          to = 'provisioning';
          patch.state = 'provisioning';
          patch.provisioning_since = now;
        }
        await InstanceModel.query(trx).where({ id: instanceId }).patch(patch);
        await recordEvent(trx, instanceId, { type: 'desired_state_committed', from: cur.state, to, commit: written.revision, actor: opts.actor ?? 'control-plane' }, now);
        // A report about this commit may have arrived before the commit was recorded here.
        if (to === 'provisioning' && cur.observed_revision && cur.observed_sync === 'Synced' && cur.observed_health === 'Healthy'
          && (cur.observed_revision === written.revision || (await repo.includes(cur.observed_revision, written.revision)))) {
          await InstanceModel.query(trx).where({ id: instanceId }).patch({ state: 'active', activated_at: now, gitops_sync: 'Synced', gitops_health: 'Healthy', gitops_reported_at: now });
          await recordEvent(trx, instanceId, { type: 'activated', from: to, to: 'active', commit: cur.observed_revision, actor: 'control-plane' }, now);
          await recordAudit(trx, {
            orgId: cur.org_id,
            projectId: cur.project_id,
            action: 'instance.activated',
            resourceType: 'instance',
            resourceId: instanceId,
            actor: { type: 'system', id: 'control-plane' },
            data: { instanceId, from: to, to: 'active', revision: cur.observed_revision },
            at: now,
          });
        }
        return true;
      });
      if (done) {
        this.o.log.info({ instanceId, revision: written.revision, generation: row.generation }, 'desired state committed');
        return;
      }
    }
    throw new Error(`instance ${instanceId}: desired state kept changing; left for the sweeper`);
  }

  /**
   * A health report from Argo CD (webhook) or the built-in reconciler. A provisioning instance
   * becomes active when its Application is Synced + Healthy at (or after) its latest commit;
   * degraded states are recorded with their message. Reports about older revisions only update
   * the observed status.
   */
  async report(r: DeploymentHealthReport): Promise<DeploymentHealthOutcome> {
    return this.o.db.transaction(async (trx) => {
      const row = await lockInstance(trx, r.instanceId);
      if (!row) throw new AppError('NOT_FOUND', 'Instance not found', { instanceId: r.instanceId });
      const current = row.gitops_commit !== null && (r.revision === row.gitops_commit || (await this.o.repo.includes(r.revision, row.gitops_commit)));
      const now = this.now();
      const patch: Partial<InstanceRow> = { observed_revision: r.revision, observed_sync: r.sync, observed_health: r.health, updated_at: now };
      if (current) {
        Object.assign(patch, {
          gitops_sync: r.sync,
          gitops_health: r.health,
          gitops_phase: r.operationPhase ?? null,
          gitops_message: r.message ?? null,
          gitops_reported_at: now,
        });
      }
      let state = row.state;
      if (current && row.state === 'provisioning' && r.sync === 'Synced' && r.health === 'Healthy') {
        state = 'active';
        patch.state = 'active';
        patch.activated_at = now;
      }
      await InstanceModel.query(trx).where({ id: row.id }).patch(patch);
      const changed = current && (row.gitops_sync !== r.sync || row.gitops_health !== r.health);
      if (state !== row.state) {
        await recordEvent(trx, row.id, { type: 'activated', from: row.state, to: state, commit: r.revision, message: r.message ?? null, actor: r.source }, now);
        await recordAudit(trx, {
          orgId: row.org_id,
          projectId: row.project_id,
          action: 'instance.activated',
          resourceType: 'instance',
          resourceId: row.id,
          actor: { type: 'system', id: r.source },
          data: { instanceId: row.id, from: row.state, to: state, revision: r.revision },
          at: now,
        });
      } else if (changed) {
        const failed = r.health === 'Degraded' || r.operationPhase === 'Failed' || r.operationPhase === 'Error';
        await recordEvent(
          trx,
          row.id,
          { type: failed ? 'provisioning_failed' : 'sync_reported', from: row.state, to: row.state, commit: r.revision, message: r.message ?? `${r.sync}/${r.health}`, actor: r.source },
          now,
        );
      }
      return { instanceId: row.id, state, previousState: row.state, transitioned: state !== row.state, stale: !current };
    });
  }

  /** Commits every instance whose latest change has no commit yet (crash recovery). */
  async sweep(): Promise<number> {
    const pending: { id: string }[] = await InstanceModel.query(this.o.db).select('id').whereRaw('committed_generation < generation').limit(100);
    for (const { id } of pending) this.kick(id, { actor: 'control-plane:sweeper' });
    return pending.length;
  }

  startSweeper(intervalMs = 30_000): void {
    void this.sweep().catch((err) => this.o.log.error({ err }, 'instance sweep failed'));
    this.sweeping = setInterval(() => void this.sweep().catch((err) => this.o.log.error({ err }, 'instance sweep failed')), intervalMs);
    this.sweeping.unref();
  }

  /** Stops the sweeper and waits for in-flight commits. */
  async stop(): Promise<void> {
    if (this.sweeping) clearInterval(this.sweeping);
    await Promise.allSettled([...this.chains.values()]);
  }
}

export type SyncAction = 'create' | 'upgrade' | 'pause' | 'resume' | 'rotate-secrets' | 'update';
