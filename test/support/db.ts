/**
 * A fresh, migrated database per test suite — fast.
 *
 * - Default (PGlite): the migrated schema is built once, dumped with `dumpDataDir()` and cached
 *   on disk (node_modules/.cache/agent-store/, keyed by a hash of the migration files and the
 *   PGlite version), so later test processes skip the cold init + migrate (~4–10 s on the 2-core
 *   box, paid once per migration change). Each suite then gets its own in-memory PGlite loaded
 *   from that snapshot (`loadDataDir`), with the WASM module compiled once per process.
 *   Measured: ~0.8–0.9 s for the first database of a process (includes the WASM compile),
 *   ~0.35–0.6 s for each further one; close ~5 ms.
 * - `TEST_DATABASE_URL` set: a throwaway schema `t_<random>` on that server, knex `searchPath`
 *   pointing at it and the pool's application_name set to it (the simulation kills exactly
 *   these backends), migrated, dropped on close. Measured: ~0.1 s to open (8 migrations),
 *   ~30 ms to drop. An unreachable server makes the suite FAIL (the error is thrown), never skip.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import type { PGlite } from '@electric-sql/pglite';
import { createDb } from '../../src/db/create-db';
import { migrateLatest } from '../../src/db/migrate';

export interface TestDb {
  db: Knex;
  engine: 'pglite' | 'postgres';
  /** The throwaway schema (PostgreSQL only). */
  schema?: string;
  /** How long opening this database took, in ms. */
  openedInMs: number;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const migrationsDir = join(repoRoot, 'src', 'db', 'migrations');
const require = createRequire(import.meta.url);

export function testDatabaseUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL;
  return url === undefined || url === '' ? undefined : url;
}

export interface OpenTestDbOptions {
  /** Drop knex's "Connection Error" warnings (tests that kill connections on purpose). */
  quietConnectionErrors?: boolean;
}

export async function openTestDb(opts: OpenTestDbOptions = {}): Promise<TestDb> {
  const started = performance.now();
  const url = testDatabaseUrl();
  if (url) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const log = opts.quietConnectionErrors
      ? {
          warn: (m: unknown) => {
            if (!String(m).startsWith('Connection Error')) console.warn(m);
          },
        }
      : undefined;
    const db = await createDb({ url, searchPath: schema, poolMax: 40, applicationName: schema, log });
    try {
      await db.raw(`create schema "${schema}"`); // throws when the server is unreachable
      await migrateLatest(db);
    } catch (err) {
      await db.raw(`drop schema if exists "${schema}" cascade`).catch(() => {});
      await db.destroy();
      throw err;
    }
    return {
      db,
      engine: 'postgres',
      schema,
      openedInMs: performance.now() - started,
      async close() {
        try {
          await db.raw(`drop schema if exists "${schema}" cascade`);
        } finally {
          await db.destroy();
        }
      },
    };
  }

  const { snapshot, wasm, fsBundle } = await pgliteAssets();
  const db = await createDb({
    dataDir: 'memory://',
    pglite: { loadDataDir: snapshot, pgliteWasmModule: wasm, fsBundle },
  });
  return {
    db,
    engine: 'pglite',
    openedInMs: performance.now() - started,
    close: () => db.destroy(),
  };
}

interface PgliteAssets {
  snapshot: Blob;
  wasm: WebAssembly.Module;
  fsBundle: Blob;
}

let assets: Promise<PgliteAssets> | undefined;

function pgliteAssets(): Promise<PgliteAssets> {
  assets ??= (async () => {
    // The package's main entry lives in dist/, beside the WASM and its file-system bundle.
    const distDir = dirname(require.resolve('@electric-sql/pglite'));
    const pkgDir = dirname(distDir);
    const wasmBytes = readFileSync(join(distDir, 'pglite.wasm'));
    const [wasm, snapshot] = await Promise.all([WebAssembly.compile(wasmBytes), migratedSnapshot(pkgDir)]);
    const fsBundle = new Blob([readFileSync(join(distDir, 'pglite.data'))]);
    return { snapshot, wasm, fsBundle };
  })();
  return assets;
}

/** The migrated data folder as a tarball, from the disk cache or built now. */
async function migratedSnapshot(pkgDir: string): Promise<Blob> {
  const hash = createHash('sha256');
  hash.update(readFileSync(join(pkgDir, 'package.json')));
  for (const f of readdirSync(migrationsDir).sort()) {
    hash.update(f);
    hash.update(readFileSync(join(migrationsDir, f)));
  }
  const cacheDir = join(repoRoot, 'node_modules', '.cache', 'agent-store');
  const file = join(cacheDir, `pglite-migrated-${hash.digest('hex').slice(0, 16)}.tar.gz`);
  if (existsSync(file)) return new Blob([readFileSync(file)]);

  const db = await createDb({ dataDir: 'memory://' });
  try {
    await migrateLatest(db);
    const pglite = (db.client as unknown as { pglite: PGlite }).pglite;
    const dump = await pglite.dumpDataDir('gzip');
    const bytes = new Uint8Array(await dump.arrayBuffer());
    try {
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, file); // atomic: concurrent test processes never read a half-written file
      // Snapshots of older migration sets are dead weight (~5 MB each): drop those a day old.
      for (const f of readdirSync(cacheDir)) {
        const old = join(cacheDir, f);
        if (old !== file && f.startsWith('pglite-migrated-') && Date.now() - statSync(old).mtimeMs > 86_400_000) {
          rmSync(old, { force: true });
        }
      }
    } catch {
      // A read-only checkout still works, just slower.
    }
    return new Blob([bytes]);
  } finally {
    await db.destroy();
  }
}
