/**
 * Connector bindings: a connector credential bound to a project (or one of its instances). The
 * credential goes to the SecretStore at `connectors/{orgId}/{projectId}/{bindingId}` (Vault:
 * `kv/data/connectors/…`); the row keeps only that reference and the secret's version. No
 * function here returns, logs or puts in an error a credential value.
 */
import type { Knex } from 'knex';
import type { ConnectorBinding } from '../../generated/control-plane/types';
import { actorFromString, auditConnectorBindingChange } from '../audit';
import { fn } from 'objection';
import type { Db } from '../db/tx';
import { InstanceModel } from '../instances/models';
import { ConnectorBindingModel } from './models';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import type { Logger } from '../platform/logger';
import { bindingSecretPath, SecretStoreUnavailableError, SecretForbiddenError, vaultReference, vaultUnavailable, type SecretStore } from '../secrets';
import { pageArgs, toPage, type Page, type PageRequest } from '../tenancy/page';
import { checkCredential, connectorType } from './catalog';

export interface BindingRow {
  id: string;
  org_id: string;
  project_id: string;
  instance_id: string | null;
  connector_id: string;
  name: string;
  status: 'active' | 'revoked';
  vault_path: string;
  secret_version: number;
  settings: Record<string, string>;
  created_at: Date;
  updated_at: Date;
  revoked_at: Date | null;
}

export const bindingNotFound = () => new AppError('NOT_FOUND', 'Connector binding not found');

export function toBinding(r: BindingRow): ConnectorBinding {
  const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());
  return {
    id: r.id,
    connectorId: r.connector_id,
    orgId: r.org_id,
    projectId: r.project_id,
    instanceId: r.instance_id,
    name: r.name,
    status: r.status,
    vaultPath: r.vault_path,
    secretVersion: r.secret_version,
    settings: r.settings ?? {},
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    revokedAt: r.revoked_at ? iso(r.revoked_at) : null,
  };
}

/** Store failures as the public answer: unreachable/sealed/forbidden → 503 VAULT_UNAVAILABLE. */
export function storeFailure(err: unknown, details: Record<string, unknown>): AppError {
  if (err instanceof SecretStoreUnavailableError || err instanceof SecretForbiddenError) return vaultUnavailable(details, err);
  if (err instanceof AppError) return err;
  return vaultUnavailable(details, err);
}

export interface CreateBindingInput {
  orgId: string;
  projectId: string;
  instanceId?: string;
  connectorId: string;
  name: string;
  credential: Record<string, string>;
  settings?: Record<string, string>;
  actor: string;
  requestId?: string;
}

export async function createBinding(trx: Knex.Transaction, secrets: SecretStore, mount: string, input: CreateBindingInput, log?: Logger): Promise<BindingRow> {
  const type = connectorType(input.connectorId);
  if (!type) throw new AppError('UNPROCESSABLE', `Unknown connector ${input.connectorId}`, { connectorId: input.connectorId });
  const settings = input.settings ?? {};
  checkCredential(type, input.credential, settings);
  if (input.instanceId) {
    const inst = await InstanceModel.query(trx).select('id').findOne({ id: input.instanceId, project_id: input.projectId });
    if (!inst) throw new AppError('NOT_FOUND', 'Instance not found');
  }
  const id = newId('bind');
  const path = bindingSecretPath(input.orgId, input.projectId, id);
  let version: number;
  try {
    version = await secrets.put(path, input.credential);
  } catch (err) {
    throw storeFailure(err, { connectorId: input.connectorId });
  }
  try {
    const row = await ConnectorBindingModel.query(trx)
      .insert({
        id,
        org_id: input.orgId,
        project_id: input.projectId,
        instance_id: input.instanceId ?? null,
        connector_id: input.connectorId,
        name: input.name,
        status: 'active',
        vault_path: vaultReference(mount, path),
        secret_version: version,
        settings,
        created_by: input.actor,
      })
      .returning('*');
    // Audited in the same transaction (references only: no credential, no Vault path).
    await auditConnectorBindingChange(trx, {
      orgId: input.orgId,
      projectId: input.projectId,
      bindingId: id,
      change: 'created',
      connectorId: input.connectorId,
      instanceId: input.instanceId ?? null,
      actor: actorFromString(input.actor),
      requestId: input.requestId,
      data: { name: input.name, secretVersion: version },
    });
    log?.info({ bindingId: id, orgId: input.orgId, projectId: input.projectId, connectorId: input.connectorId, secretVersion: version }, 'connector binding created');
    return row;
  } catch (err) {
    // The row did not land: do not leave an orphan credential behind.
    await secrets.delete(path).catch(() => {});
    throw err;
  }
}

export async function findBinding(db: Db, bindingId: string): Promise<BindingRow | undefined> {
  return ConnectorBindingModel.query(db).findById(bindingId);
}

/** Revokes: the secret's current version is deleted first (store down → 503, nothing changes). */
export async function revokeBinding(
  trx: Knex.Transaction,
  secrets: SecretStore,
  row: BindingRow,
  reason: string | undefined,
  log?: Logger,
  who: { actor?: string; requestId?: string } = {},
): Promise<BindingRow> {
  if (row.status === 'revoked') return row;
  const locked = await ConnectorBindingModel.query(trx).findById(row.id).forUpdate();
  if (!locked || locked.status === 'revoked') return locked ?? row;
  const path = row.vault_path.replace(/^[^/]+\/data\//, '');
  try {
    await secrets.delete(path);
  } catch (err) {
    throw storeFailure(err, { bindingId: row.id });
  }
  const [updated] = await ConnectorBindingModel.query(trx)
    .patch({ status: 'revoked', revoked_at: fn.now(), updated_at: fn.now(), revoked_reason: reason ?? null })
    .where('id', row.id)
    .returning('*');
  await auditConnectorBindingChange(trx, {
    orgId: row.org_id,
    projectId: row.project_id,
    bindingId: row.id,
    change: 'revoked',
    connectorId: row.connector_id,
    instanceId: row.instance_id,
    actor: actorFromString(who.actor),
    requestId: who.requestId,
    data: reason ? { reason } : {},
  });
  log?.info({ bindingId: row.id, orgId: row.org_id, projectId: row.project_id, connectorId: row.connector_id }, 'connector binding revoked');
  return updated!;
}

export async function listBindings(
  db: Db,
  filter: ({ projectId: string } | { orgIds: string[] }) & { instanceId?: string; connectorId?: string; status?: 'active' | 'revoked' } & PageRequest,
): Promise<Page<ConnectorBinding>> {
  const { after, limit } = pageArgs(filter);
  const q = ConnectorBindingModel.query(db);
  if ('projectId' in filter) {
    q.where('project_id', filter.projectId);
  } else {
    if (!filter.orgIds.length) return { items: [], nextCursor: null };
    q.whereIn('org_id', filter.orgIds);
  }
  const instanceId = filter.instanceId;
  if (instanceId) q.where((w) => w.whereNull('instance_id').orWhere('instance_id', instanceId));
  if (filter.connectorId) q.where('connector_id', filter.connectorId);
  if (filter.status) q.where('status', filter.status);
  if (after !== null) q.where('id', '<', after);
  const r = await q.orderBy('id', 'desc').limit(limit + 1);
  return toPage(r, limit, (x) => x.id, toBinding);
}

/** The bindings an instance may use (its own and project-wide ones), as references. */
export async function bindingsOfInstance(db: Db, instance: { id: string; project_id: string }, opts: { activeOnly?: boolean } = {}): Promise<BindingRow[]> {
  const q = ConnectorBindingModel.query(db)
    .where('project_id', instance.project_id)
    .where((w) => w.whereNull('instance_id').orWhere('instance_id', instance.id));
  if (opts.activeOnly) q.where('status', 'active');
  return q.orderBy('id');
}
