export { createDb, isPglite, typeParsers, parseInt8, type CreateDbOptions } from './create-db';
export { migrateLatest, migrateRollbackAll, migrationSource } from './migrate';
