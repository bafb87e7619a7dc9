/**
 * Seeds the demo catalog into the configured database (what `npm start` does on every start):
 * `npx tsx scripts/seed-demo.ts`. With the embedded database, stop `npm start` first — PGlite
 * allows one process per data folder. The catalog itself is `src/catalog/demo-seed.ts`.
 */
import { seedDemo } from '../src/catalog/demo-seed';

async function main() {
  const { loadConfig } = await import('../src/platform/config');
  const { createLogger } = await import('../src/platform/logger');
  const { createDb } = await import('../src/db/create-db');
  const { migrateLatest } = await import('../src/db/migrate');
  const { createObjectStore } = await import('../src/storage');
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel });
  const db = await createDb({ url: config.databaseUrl, dataDir: `${config.dataDir}/pglite` });
  try {
    await migrateLatest(db);
    const store = createObjectStore(config.storage, config.urls.controlPlane);
    const seeded = await seedDemo(db, store, log);
    for (const s of seeded) {
      console.log(`${s.slug.padEnd(22)} ${s.offeringId}  version ${s.versionId}  ${s.lifecycle}${s.changes.length ? `  (${s.changes.join(', ')})` : '  (already there)'}`);
    }
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error('seed-demo failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
