/**
 * Small helpers every service over knex uses.
 *
 * Services take `db: Knex` explicitly, which may be the root knex or a caller's transaction.
 * `inTransaction` runs the work in the caller's transaction when there is one (so the caller's
 * unit of work stays atomic, e.g. an idempotency key + its effect), or in a new one otherwise.
 */
import type { Knex } from 'knex';

export type Db = Knex | Knex.Transaction;

export function isTransaction(db: Db): db is Knex.Transaction {
  return (db as Knex.Transaction).isTransaction === true;
}

/** Runs `work` in `db` if it already is a transaction, else in a new transaction on it. */
export function inTransaction<T>(db: Db, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if (isTransaction(db)) return work(db);
  return db.transaction(work);
}

/** The outermost transaction `trx` is nested in (savepoints resolve before the real commit). */
export function rootTransaction(trx: Knex.Transaction): Knex.Transaction {
  let t = trx;
  while (t.parentTransaction) t = t.parentTransaction;
  return t;
}

/**
 * Calls `fn` once `db`'s work is durable: right away for the root knex (the caller has just
 * committed its own transaction), or when the enclosing transaction commits (never, if it
 * rolls back). Errors from `fn` are passed to `onError` and never reach the caller.
 */
export function afterCommit(db: Db, fn: () => unknown, onError: (err: unknown) => void = () => {}): void {
  const run = () => {
    try {
      const r = fn();
      if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).catch(onError);
    } catch (err) {
      onError(err);
    }
  };
  if (isTransaction(db)) {
    rootTransaction(db).executionPromise.then(run, () => {});
  } else {
    run();
  }
}

/** A raw query's rows, the same shape on pg and PGlite. */
export async function rows<T>(db: Db, sql: string, bindings: readonly Knex.RawBinding[] = []): Promise<T[]> {
  const res = (await db.raw(sql, bindings as Knex.RawBinding[])) as { rows: T[] };
  return res.rows;
}

export async function one<T>(db: Db, sql: string, bindings: readonly Knex.RawBinding[] = []): Promise<T | undefined> {
  const r = await rows<T>(db, sql, bindings);
  return r[0];
}

/** SQLSTATE of a database error, if it is one (objection wraps the driver's error as `nativeError`). */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; nativeError?: { code?: unknown } } | null;
  const code = e?.code ?? e?.nativeError?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export const SQLSTATE = {
  UNIQUE_VIOLATION: '23505',
  CHECK_VIOLATION: '23514',
  RESTRICT_VIOLATION: '23001',
  LOCK_NOT_AVAILABLE: '55P03',
  DEADLOCK_DETECTED: '40P01',
  SERIALIZATION_FAILURE: '40001',
  ADMIN_SHUTDOWN: '57P01',
} as const;
