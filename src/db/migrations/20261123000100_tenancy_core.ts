import type { Knex } from 'knex';

/**
 * Tenancy core: orgs and their projects. Deliberately minimal — memberships, teams and API
 * keys arrive in a later migration owned by the identity work.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('orgs', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    t.boolean('personal').notNullable().defaultTo(false);
    t.text('owner_user_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // One personal org per user (POST /orgs/auto is idempotent per user).
  await knex.raw(
    'create unique index orgs_personal_owner_uq on orgs (owner_user_id) where personal and owner_user_id is not null',
  );

  await knex.schema.createTable('projects', (t) => {
    t.text('id').primary();
    t.text('org_id').notNullable().references('id').inTable('orgs').onDelete('restrict');
    t.text('name').notNullable();
    t.boolean('is_default').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['org_id'], 'projects_org_idx');
  });
  await knex.raw('create unique index projects_one_default_uq on projects (org_id) where is_default');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('projects');
  await knex.schema.dropTable('orgs');
}
