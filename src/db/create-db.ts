/**
 * One way to open the platform's database, on either engine:
 *
 * - `url` (DATABASE_URL) → a real PostgreSQL server through `pg`, with a connection pool.
 *   Production and the concurrency tests use this.
 * - otherwise → PGlite (PostgreSQL compiled to WASM, in-process) through the `knex-pglite`
 *   dialect, persisted in `dataDir` (default `.data/pglite`) or kept in memory when `dataDir`
 *   is `'memory://'`. `npm start` uses this, so it needs no server.
 *
 * Both answer the same JavaScript types (see `typeParsers`): int8 / count(*) → number (throws
 * beyond Number.MAX_SAFE_INTEGER rather than losing precision), numeric → number,
 * timestamptz → Date, json/jsonb → parsed values.
 *
 * ⚠ knex-pglite has exactly ONE connection. Row locks therefore never contend, transactions
 * run one after the other, and a query issued on the root knex while a transaction is open
 * waits for that transaction's connection — i.e. deadlocks until `acquireConnectionTimeout`.
 * Inside a transaction every query must go through the `trx`, never through the root knex.
 * (On PostgreSQL the same mistake silently runs the query outside the transaction, which is
 * just as wrong, only harder to notice; the PGlite behaviour is the louder symptom.)
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import pg from 'pg';

export interface CreateDbOptions {
  /** A PostgreSQL connection string (DATABASE_URL). When given, PGlite is not used. */
  url?: string;
  /** PGlite data folder; `'memory://'` for an in-memory database. Default `.data/pglite`. */
  dataDir?: string;
  /** Schema(s) to put on the search_path of every connection (tests use a throwaway schema). */
  searchPath?: string;
  /** pg pool size (PostgreSQL only). Default 20. */
  poolMax?: number;
  /**
   * Extra PGlite options (PGlite only), e.g. `loadDataDir` (a data-folder tarball to start
   * from) and a precompiled `pgliteWasmModule` + `fsBundle` — see test/support/db.ts.
   */
  pglite?: Partial<PGliteOptions>;
  /** application_name of every pg connection (visible in pg_stat_activity). Default 'agent-store'. */
  applicationName?: string;
  /** knex's logger (e.g. to quiet "Connection Error" warnings in fault-injection tests). */
  log?: Knex.Logger;
  /** Milliseconds to wait for a pooled connection. Default 30 000. */
  acquireConnectionTimeout?: number;
}

/** PostgreSQL type oids the platform cares about. */
export const PG_TYPES = { INT8: 20, NUMERIC: 1700, TIMESTAMPTZ: 1184, INT8_ARRAY: 1016 } as const;

/** int8 → number, refusing to lose precision silently. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`int8 value ${text} is beyond Number.MAX_SAFE_INTEGER`);
  }
  return n;
}

export function parseNumeric(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n)) throw new RangeError(`numeric value ${text} is not a finite number`);
  return n;
}

export function parseTimestamptz(text: string): Date {
  // PostgreSQL's ISO output ("2026-11-23 17:56:26.474+00") is accepted by Date once the space
  // becomes a 'T' and a bare "+hh" offset gains its minutes.
  let s = text.replace(' ', 'T');
  if (/[+-]\d\d$/.test(s)) s += ':00';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) {
    if (text === 'infinity' || text === '-infinity') return new Date(text === 'infinity' ? 8.64e15 : -8.64e15);
    throw new RangeError(`timestamptz value ${text} cannot be parsed`);
  }
  return d;
}

function parseInt8Array(text: string): number[] {
  // '{1,2,NULL}' — int8[] only ever holds plain integers.
  const inner = text.slice(1, -1);
  if (inner === '') return [];
  return inner.split(',').map((s) => (s === 'NULL' ? (null as unknown as number) : parseInt8(s)));
}

/** The parsers both engines use, keyed by type oid. */
export const typeParsers: Record<number, (text: string) => unknown> = {
  [PG_TYPES.INT8]: parseInt8,
  [PG_TYPES.NUMERIC]: parseNumeric,
  [PG_TYPES.TIMESTAMPTZ]: parseTimestamptz,
  [PG_TYPES.INT8_ARRAY]: parseInt8Array,
};

/** pg's per-client `types` hook: our parsers first, pg's defaults for everything else. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if ((format === undefined || format === 'text') && typeParsers[oid]) return typeParsers[oid];
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format ?? 'text');
  },
};

/** The PGlite options shared by `createDb` and the test snapshot machinery. */
export function pgliteOptions(extra: Partial<PGliteOptions> = {}): PGliteOptions {
  return { parsers: { ...typeParsers } as PGliteOptions['parsers'], ...extra };
}

export async function createDb(opts: CreateDbOptions = {}): Promise<Knex> {
  const acquireConnectionTimeout = opts.acquireConnectionTimeout ?? 30_000;
  if (opts.url) {
    const db = knexFactory({
      client: 'pg',
      connection: {
        connectionString: opts.url,
        types: pgTypes,
        // A client that dies inside a transaction must not hold a wallet lock for long.
        idle_in_transaction_session_timeout: 60_000,
        application_name: opts.applicationName ?? 'agent-store',
      } as Knex.PgConnectionConfig,
      searchPath: opts.searchPath,
      pool: { min: 0, max: opts.poolMax ?? 20 },
      acquireConnectionTimeout,
      ...(opts.log ? { log: opts.log } : {}),
    });
    return db;
  }

  const dataDir = opts.dataDir ?? '.data/pglite';
  const inMemory = dataDir === 'memory://' || dataDir === '';
  if (!inMemory) mkdirSync(resolve(dataDir), { recursive: true });
  const pglite = new PGlite(
    pgliteOptions({
      ...(inMemory ? {} : { dataDir: resolve(dataDir) }),
      ...opts.pglite,
    }),
  );
  await pglite.waitReady;
  const db = knexFactory({
    client: ClientPgLite,
    dialect: 'postgres',
    connection: () => ({ pglite }) as unknown as Knex.StaticConnectionConfig,
    searchPath: opts.searchPath,
    acquireConnectionTimeout,
    ...(opts.log ? { log: opts.log } : {}),
  } as Knex.Config);
  // knex closes PGlite through its pooled connection only: open that connection now, so that
  // `destroy()` always closes the instance (an unused one would keep the process alive).
  await db.raw('select 1');
  return db;
}

/** True when this knex talks to PGlite (single connection, no real lock contention). */
export function isPglite(db: Knex): boolean {
  return (db.client as { config?: { client?: unknown } }).config?.client === ClientPgLite;
}
