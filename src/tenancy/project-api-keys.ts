/**
 * Project API keys (createApiKey / listApiKeys / revokeApiKey, and the Gateway's
 * `verifyApiKey`). The key format and hashing live in src/identity/api-keys.ts; this file keeps
 * the rows: only the sha256 of a key and its display prefix are stored, the full key is
 * returned once at creation.
 */
import { apiKeyMatches, generateApiKey, parseApiKey } from '../identity/api-keys';
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { raw } from 'objection';
import { inTransaction, type Db } from '../db/tx';
import { InstanceModel } from '../instances/models';
import { ApiKeyModel } from './models';
import { pageArgs, toPage, type Page, type PageRequest } from './page';
import { resolveAccess } from './scope';

export interface ApiKeyView {
  id: string;
  projectId: string;
  name: string;
  prefix: string;
  /** Instances the key may run; empty = every instance of the project. */
  instanceIds: string[];
  status: 'active' | 'revoked';
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface ApiKeyWithSecret {
  apiKey: ApiKeyView;
  /** The full key; shown once. */
  secret: string;
}

export interface VerifiedApiKey {
  keyId: string;
  orgId: string;
  projectId: string;
  instanceIds: string[];
}

type ApiKeyRow = Omit<ApiKeyModel, 'instance_ids'> & { instance_ids: string[] | null };
/** `last_used_at` is refreshed at most this often per key, so verification is not a write per call. */
const LAST_USED_RESOLUTION_MS = 60_000;

function keyView(r: ApiKeyRow): ApiKeyView {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    prefix: r.prefix,
    instanceIds: r.instance_ids ?? [],
    status: r.revoked_at === null ? 'active' : 'revoked',
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

export interface CreateApiKeyInput {
  projectId: string;
  name: string;
  instanceIds?: string[];
  expiresAt?: Date | string;
  now?: Date;
}

export async function createApiKey(db: Db, principal: Principal, input: CreateApiKeyInput): Promise<ApiKeyWithSecret> {
  return inTransaction(db, async (trx) => {
    // Scope first: another tenant's project is 404 whatever the rest of the request says.
    const access = await resolveAccess(trx, principal, { projectId: input.projectId }, 'any');
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name.length === 0 || name.length > 120) throw new AppError('VALIDATION_FAILED', 'name must be 1 to 120 characters');
    const instanceIds = [...new Set(input.instanceIds ?? [])];
    if (instanceIds.some((id) => typeof id !== 'string' || !/^inst_[A-Za-z0-9]{8,40}$/.test(id))) {
      throw new AppError('VALIDATION_FAILED', 'instanceIds must be instance ids');
    }
    if (instanceIds.length) {
      const found = await InstanceModel.query(trx).select('id').where('project_id', input.projectId).whereIn('id', instanceIds);
      const missing = instanceIds.filter((id) => !found.some((f) => f.id === id));
      if (missing.length) throw new AppError('NOT_FOUND', 'Instance not found in this project', { instanceIds: missing });
    }
    let expiresAt: Date | null = null;
    if (input.expiresAt !== undefined) {
      expiresAt = new Date(input.expiresAt);
      if (Number.isNaN(expiresAt.getTime())) throw new AppError('VALIDATION_FAILED', 'expiresAt must be a date-time');
      if (expiresAt.getTime() <= (input.now ?? new Date()).getTime()) throw new AppError('UNPROCESSABLE', 'expiresAt must be in the future');
    }
    const key = generateApiKey();
    const row = await ApiKeyModel.query(trx)
      .insert({
        id: key.keyId,
        project_id: input.projectId,
        org_id: access.orgId,
        name,
        prefix: key.prefix,
        hash: key.hash,
        instance_ids: instanceIds,
        created_by: principal.subject,
        expires_at: expiresAt,
      })
      .returning('*');
    return { apiKey: keyView(row), secret: key.secret };
  });
}

export async function listApiKeys(
  db: Db,
  principal: Principal,
  projectId: string,
  options: PageRequest & { status?: 'active' | 'revoked' } = {},
): Promise<Page<ApiKeyView>> {
  await resolveAccess(db, principal, { projectId }, 'any');
  const { after, limit } = pageArgs(options);
  const q = ApiKeyModel.query(db).where('project_id', projectId);
  if (options.status === 'active') q.whereNull('revoked_at');
  else if (options.status === 'revoked') q.whereNotNull('revoked_at');
  else if (options.status !== undefined) throw new AppError('VALIDATION_FAILED', 'status must be active or revoked');
  if (after !== null) q.where('id', '>', after);
  const r = await q.orderBy('id').limit(limit + 1);
  return toPage(r, limit, (x) => x.id, keyView);
}

/** Revokes a key at once. Idempotent: revoking a revoked key returns it unchanged. */
export async function revokeApiKey(db: Db, principal: Principal, input: { projectId: string; keyId: string }): Promise<ApiKeyView> {
  return inTransaction(db, async (trx) => {
    await resolveAccess(trx, principal, { projectId: input.projectId }, 'any');
    const row = await ApiKeyModel.query(trx)
      .patch({ revoked_at: raw('coalesce(revoked_at, now())') })
      .where({ id: input.keyId, project_id: input.projectId })
      .returning('*')
      .first();
    if (!row) throw new AppError('NOT_FOUND', 'API key not found');
    return keyView(row);
  });
}

const invalidKey = () => new AppError('UNAUTHENTICATED', 'Invalid API key');

/**
 * Verifies a presented key: one primary-key lookup by the id embedded in the key, then a
 * constant-time comparison of hashes. Unknown, malformed and wrong keys all answer the same
 * 401; revoked and expired keys say so (only a holder of the full key can learn that).
 */
export async function verifyApiKey(db: Db, presented: string, options: { now?: Date } = {}): Promise<VerifiedApiKey> {
  const parsed = parseApiKey(presented);
  if (!parsed) throw invalidKey();
  const row = await ApiKeyModel.query(db).findById(parsed.keyId);
  if (!row || !apiKeyMatches(parsed.secret, row.hash)) throw invalidKey();
  const now = options.now ?? new Date();
  if (row.revoked_at !== null) throw new AppError('UNAUTHENTICATED', 'API key revoked');
  if (row.expires_at !== null && row.expires_at.getTime() <= now.getTime()) throw new AppError('UNAUTHENTICATED', 'API key expired');
  if (row.last_used_at === null || now.getTime() - row.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
    await ApiKeyModel.query(db)
      .patch({ last_used_at: now })
      .where('id', row.id)
      .where((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', new Date(now.getTime() - LAST_USED_RESOLUTION_MS)));
  }
  return { keyId: row.id, orgId: row.org_id, projectId: row.project_id, instanceIds: row.instance_ids ?? [] };
}
