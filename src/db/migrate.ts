import type { Knex } from 'knex';
import { migrations, type Migration } from './migrations/index';

/** knex's MigrationSource over the explicit list in migrations/index.ts. */
export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => {
    const names = migrations.map((m) => m.name);
    const sorted = [...names].sort();
    if (names.some((n, i) => n !== sorted[i])) {
      throw new Error(`migrations/index.ts must list migrations in name order: ${names.join(', ')}`);
    }
    if (new Set(names).size !== names.length) throw new Error('duplicate migration name in migrations/index.ts');
    return migrations;
  },
  getMigrationName: (m) => m.name,
  getMigration: async (m) => ({ up: m.up, down: m.down }),
};

/** Brings the schema up to date. Returns the names of the migrations it ran. */
export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, log] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return log;
}

export async function migrateRollbackAll(db: Knex): Promise<string[]> {
  const [, log] = (await db.migrate.rollback({ migrationSource }, true)) as [number, string[]];
  return log;
}
