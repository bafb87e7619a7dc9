/**
 * Connector bindings: a connector credential bound to a project (or one of its instances). The
 * credential goes to the SecretStore at `connectors/{orgId}/{projectId}/{bindingId}` (Vault:
 * `kv/data/connectors/…`); the row keeps only that reference and the secret's version. No
 * function here returns, logs or puts in an error a credential value.
 */
import type { Knex } from 'knex';
import type { ConnectorBinding } from '../../generated/control-plane/types';
import { actorFromString, auditConnectorBindingChange } from '../audit';
import { one, rows, type Db } from '../db/tx';
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
    const inst = await one<{ id: string }>(trx, 'select id from instances where id = ? and project_id = ?', [input.instanceId, input.projectId]);
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
    const row = await one<BindingRow>(
      trx,
      `insert into connector_bindings (id, org_id, project_id, instance_id, connector_id, name, status, vault_path, secret_version, settings, created_by)
       values (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?::jsonb, ?) returning *`,
      [id, input.orgId, input.projectId, input.instanceId ?? null, input.connectorId, input.name, vaultReference(mount, path), version, JSON.stringify(settings), input.actor],
    );
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
    return row!;
  } catch (err) {
    // The row did not land: do not leave an orphan credential behind.
    await secrets.delete(path).catch(() => {});
    throw err;
  }
}

export async function findBinding(db: Db, bindingId: string): Promise<BindingRow | undefined> {
  return one<BindingRow>(db, 'select * from connector_bindings where id = ?', [bindingId]);
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
  const locked = await one<BindingRow>(trx, 'select * from connector_bindings where id = ? for update', [row.id]);
  if (!locked || locked.status === 'revoked') return locked ?? row;
  const path = row.vault_path.replace(/^[^/]+\/data\//, '');
  try {
    await secrets.delete(path);
  } catch (err) {
    throw storeFailure(err, { bindingId: row.id });
  }
  const updated = await one<BindingRow>(
    trx,
    `update connector_bindings set status = 'revoked', revoked_at = now(), updated_at = now(), revoked_reason = ? where id = ? returning *`,
    [reason ?? null, row.id],
  );
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
  const where: string[] = [];
  const args: (string | number)[] = [];
  if ('projectId' in filter) {
    where.push('project_id = ?');
    args.push(filter.projectId);
  } else {
    if (!filter.orgIds.length) return { items: [], nextCursor: null };
    where.push(`org_id in (${filter.orgIds.map(() => '?').join(', ')})`);
    args.push(...filter.orgIds);
  }
  if (filter.instanceId) {
    where.push('(instance_id is null or instance_id = ?)');
    args.push(filter.instanceId);
  }
  if (filter.connectorId) {
    where.push('connector_id = ?');
    args.push(filter.connectorId);
  }
  if (filter.status) {
    where.push('status = ?');
    args.push(filter.status);
  }
  if (after !== null) {
    where.push('id < ?');
    args.push(after);
  }
  args.push(limit + 1);
  const r = await rows<BindingRow>(db, `select * from connector_bindings where ${where.join(' and ')} order by id desc limit ?`, args);
  return toPage(r, limit, (x) => x.id, toBinding);
}

/** The bindings an instance may use (its own and project-wide ones), as references. */
export async function bindingsOfInstance(db: Db, instance: { id: string; project_id: string }, opts: { activeOnly?: boolean } = {}): Promise<BindingRow[]> {
  return rows<BindingRow>(
    db,
    `select * from connector_bindings where project_id = ? and (instance_id is null or instance_id = ?) ${opts.activeOnly ? "and status = 'active'" : ''} order by id`,
    [instance.project_id, instance.id],
  );
}
