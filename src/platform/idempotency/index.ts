/**
 * The platform's one idempotency mechanism (Idempotency-Key on retryable mutations).
 *
 * `runIdempotent` writes the key's row in the SAME transaction as the effect:
 *
 *   BEGIN
 *     INSERT INTO idempotency_keys … ON CONFLICT (scope, key) DO NOTHING      -- claim
 *     SELECT … FOR UPDATE                                                     -- read the row
 *     claimed → run `work(trx)`, store its response, status 'completed'
 *     else    → same hash: replay the stored response; other hash: 409 MISMATCH
 *   COMMIT
 *
 * Concurrent duplicates: on PostgreSQL the second INSERT waits on the first transaction's
 * uncommitted row (a unique-index wait); when the first commits, the second replays; when the
 * first rolls back, the second claims the key and runs the effect. Either way: one effect.
 * The wait is bounded by `waitMs` (lock_timeout); past it the loser gets
 * 409 IDEMPOTENCY_IN_PROGRESS and may retry later. On PGlite (one connection) transactions
 * are serialized, so the duplicate simply runs after the first and replays.
 *
 * A failed effect (thrown error) rolls back the key with it, so a retry can succeed. To make a
 * 4xx answer itself replayable, return it from `work` (`{status: 4xx, body}`) instead of
 * throwing. Keys live for `ttlSeconds` (default 7 days); an expired key is treated as absent
 * and `purgeExpiredIdempotencyKeys` deletes them.
 *
 * Scope keys per caller and operation, e.g. `org_123:POST /wallets/{id}/topups`; commerce keys
 * are `saleor:<orderId>:<lineId>`.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { AppError } from '../errors';
import { one, sqlState, SQLSTATE, type Db } from '../../db/tx';

export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600;
export const DEFAULT_IDEMPOTENCY_WAIT_MS = 10_000;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export interface IdempotencyRequest {
  /** Who and what the key belongs to: caller + operation. */
  scope: string;
  /** The client's Idempotency-Key. */
  key: string;
  /** `hashRequest(payload)`: what makes "the same request". */
  requestHash: string;
  /** How long the key is kept. Default 7 days. */
  ttlSeconds?: number;
  /** How long a concurrent duplicate waits for the first to finish. Default 10 s. */
  waitMs?: number;
  /** Clock for created/expiry stamps (tests). */
  now?: Date;
}

export interface IdempotentResponse<B = unknown> {
  status: number;
  body: B;
  headers?: Record<string, string>;
}

export interface IdempotentResult<B = unknown> extends IdempotentResponse<B> {
  /** true when this is the stored answer of an earlier call, false when `work` ran now. */
  replayed: boolean;
}

interface KeyRow {
  request_hash: string;
  status: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: unknown;
  response_headers: Record<string, string> | null;
  claimed: boolean;
}

export async function runIdempotent<B>(
  db: Db,
  req: IdempotencyRequest,
  work: (trx: Knex.Transaction) => Promise<IdempotentResponse<B>>,
): Promise<IdempotentResult<B>> {
  const { scope, key, requestHash } = req;
  if (typeof scope !== 'string' || scope.length === 0 || scope.length > 500) {
    throw new AppError('VALIDATION_FAILED', 'Idempotency scope must be a non-empty string', { field: 'scope' });
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
      { field: 'Idempotency-Key' },
    );
  }
  if (typeof requestHash !== 'string' || requestHash.length === 0) {
    throw new AppError('VALIDATION_FAILED', 'requestHash is required', { field: 'requestHash' });
  }
  const now = req.now ?? new Date();
  const ttl = req.ttlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS;
  const expiresAt = new Date(now.getTime() + ttl * 1000);
  const waitMs = Math.max(1, Math.floor(req.waitMs ?? DEFAULT_IDEMPOTENCY_WAIT_MS));

  // A savepoint when `db` is already a transaction: a failed effect then rolls back the key
  // and the effect only, and the caller's transaction stays usable.
  try {
    return await db.transaction(async (trx) => {
      const prev = await one<{ prev: string }>(
        trx,
        `select current_setting('lock_timeout') as prev, set_config('lock_timeout', ?, true)`,
        [`${waitMs}ms`],
      );
      // Claim the key, or take over an expired one (it no longer counts). `xmax = 0` tells a
      // fresh insert from an existing row.
      const row = await one<KeyRow>(
        trx,
        `insert into idempotency_keys (scope, key, request_hash, status, created_at, expires_at)
         values (?, ?, ?, 'in_progress', ?, ?)
         on conflict (scope, key) do update
           set request_hash = excluded.request_hash, status = 'in_progress', response_status = null,
               response_body = null, response_headers = null, created_at = excluded.created_at,
               expires_at = excluded.expires_at
           where idempotency_keys.expires_at <= excluded.created_at
         returning request_hash, status, response_status, response_body, response_headers, true as claimed`,
        [scope, key, requestHash, now, expiresAt],
      );
      if (!row) {
        const existing = await one<KeyRow>(
          trx,
          `select request_hash, status, response_status, response_body, response_headers, false as claimed
             from idempotency_keys where scope = ? and key = ? for update`,
          [scope, key],
        );
        await trx.raw(`select set_config('lock_timeout', ?, true)`, [prev?.prev ?? '0']);
        if (!existing) throw new AppError('IDEMPOTENCY_IN_PROGRESS', 'The key vanished while in use; retry');
        if (existing.request_hash !== requestHash) throw mismatch(scope, key);
        if (existing.status !== 'completed' || existing.response_status === null) throw inProgress(key);
        return {
          status: existing.response_status,
          body: existing.response_body as B,
          ...(existing.response_headers ? { headers: existing.response_headers } : {}),
          replayed: true,
        };
      }
      await trx.raw(`select set_config('lock_timeout', ?, true)`, [prev?.prev ?? '0']);
      const response = await work(trx);
      if (!Number.isInteger(response.status) || response.status < 100 || response.status > 599) {
        throw new AppError('INTERNAL', 'Idempotent work returned an invalid status');
      }
      await trx.raw(
        `update idempotency_keys set status = 'completed', response_status = ?, response_body = ?::jsonb,
                response_headers = ?::jsonb
          where scope = ? and key = ?`,
        [
          response.status,
          JSON.stringify(response.body ?? null),
          response.headers ? JSON.stringify(response.headers) : null,
          scope,
          key,
        ],
      );
      return { ...response, replayed: false };
    });
  } catch (err) {
    if (sqlState(err) === SQLSTATE.LOCK_NOT_AVAILABLE) throw inProgress(key, err);
    throw err;
  }
}

function mismatch(scope: string, key: string): AppError {
  return new AppError(
    'IDEMPOTENCY_PAYLOAD_MISMATCH',
    'This Idempotency-Key was already used with a different request',
    { idempotencyKey: key, scope },
  );
}

function inProgress(key: string, cause?: unknown): AppError {
  return new AppError(
    'IDEMPOTENCY_IN_PROGRESS',
    'A request with this Idempotency-Key is still being processed; retry shortly',
    { idempotencyKey: key },
    cause === undefined ? undefined : { cause },
  );
}

/** Deletes keys past their expiry, in batches. Returns how many were deleted. */
export async function purgeExpiredIdempotencyKeys(
  db: Db,
  opts: { now?: Date; batchSize?: number } = {},
): Promise<number> {
  const now = opts.now ?? new Date();
  const batch = opts.batchSize ?? 5000;
  let total = 0;
  for (;;) {
    const r = await one<{ n: number }>(
      db,
      `with d as (
         delete from idempotency_keys where ctid in (
           select ctid from idempotency_keys where expires_at <= ? limit ?)
         returning 1)
       select count(*) as n from d`,
      [now, batch],
    );
    const n = r?.n ?? 0;
    total += n;
    if (n < batch) return total;
  }
}

/** JSON with object keys sorted at every depth (undefined members dropped, like JSON.stringify). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return sortKeys((value as { toJSON: () => unknown }).toJSON());
  }
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined && typeof v !== 'function') out[k] = sortKeys(v);
  }
  return out;
}

/** sha256 (hex) of the canonical JSON of `value`. */
export function hashRequest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
