/**
 * Project API keys (createApiKey / listApiKeys / revokeApiKey, and the Gateway's
 * `verifyApiKey`). The key format and hashing live in src/identity/api-keys.ts; this file keeps
 * the rows: only the sha256 of a key and its display prefix are stored, the full key is
 * returned once at creation.
 */
import { apiKeyMatches, generateApiKey, parseApiKey } from '../identity/api-keys';
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { inTransaction, one, rows, type Db } from '../db/tx';
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

interface ApiKeyRow {
  id: string;
  project_id: string;
  org_id: string;
  name: string;
  prefix: string;
  hash: string;
  instance_ids: string[] | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const KEY_COLUMNS = 'id, project_id, org_id, name, prefix, hash, instance_ids, created_at, expires_at, revoked_at, last_used_at';
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
      const found = await rows<{ id: string }>(trx, 'select id from instances where project_id = ? and id = any(?)', [input.projectId, instanceIds]);
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
    const row = await one<ApiKeyRow>(
      trx,
      `insert into api_keys (id, project_id, org_id, name, prefix, hash, instance_ids, created_by, expires_at)
       values (?, ?, ?, ?, ?, ?, array(select jsonb_array_elements_text(?::jsonb)), ?, ?) returning ${KEY_COLUMNS}`,
      [key.keyId, input.projectId, access.orgId, name, key.prefix, key.hash, JSON.stringify(instanceIds), principal.subject, expiresAt],
    );
    return { apiKey: keyView(row!), secret: key.secret };
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
  const where = ['project_id = ?'];
  const bindings: (string | number)[] = [projectId];
  if (options.status === 'active') where.push('revoked_at is null');
  else if (options.status === 'revoked') where.push('revoked_at is not null');
  else if (options.status !== undefined) throw new AppError('VALIDATION_FAILED', 'status must be active or revoked');
  if (after !== null) {
    where.push('id > ?');
    bindings.push(after);
  }
  bindings.push(limit + 1);
  const r = await rows<ApiKeyRow>(db, `select ${KEY_COLUMNS} from api_keys where ${where.join(' and ')} order by id limit ?`, bindings);
  return toPage(r, limit, (x) => x.id, keyView);
}

/** Revokes a key at once. Idempotent: revoking a revoked key returns it unchanged. */
export async function revokeApiKey(db: Db, principal: Principal, input: { projectId: string; keyId: string }): Promise<ApiKeyView> {
  return inTransaction(db, async (trx) => {
    await resolveAccess(trx, principal, { projectId: input.projectId }, 'any');
    const row = await one<ApiKeyRow>(
      trx,
      `update api_keys set revoked_at = coalesce(revoked_at, now())
        where id = ? and project_id = ? returning ${KEY_COLUMNS}`,
      [input.keyId, input.projectId],
    );
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
  const row = await one<ApiKeyRow>(db, `select ${KEY_COLUMNS} from api_keys where id = ?`, [parsed.keyId]);
  if (!row || !apiKeyMatches(parsed.secret, row.hash)) throw invalidKey();
  const now = options.now ?? new Date();
  if (row.revoked_at !== null) throw new AppError('UNAUTHENTICATED', 'API key revoked');
  if (row.expires_at !== null && row.expires_at.getTime() <= now.getTime()) throw new AppError('UNAUTHENTICATED', 'API key expired');
  if (row.last_used_at === null || now.getTime() - row.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
    await db.raw(
      'update api_keys set last_used_at = ? where id = ? and (last_used_at is null or last_used_at < ?)',
      [now, row.id, new Date(now.getTime() - LAST_USED_RESOLUTION_MS)],
    );
  }
  return { keyId: row.id, orgId: row.org_id, projectId: row.project_id, instanceIds: row.instance_ids ?? [] };
}
