import type { Knex } from 'knex';

/**
 * Connector bindings (src/connectors/): a credential reference per project (or one instance).
 * The credential itself lives only in the secret store (Vault KV v2, or the encrypted local
 * store) at `vault_path`; this table never holds a secret value. Revoking keeps the row
 * (`status = 'revoked'`, `revoked_at`) for audit.
 */
const UP = [
  `create table connector_bindings (
     id text primary key,
     org_id text not null references orgs(id),
     project_id text not null references projects(id),
     instance_id text references instances(id),
     connector_id text not null,
     name text not null,
     status text not null default 'active' check (status in ('active', 'revoked')),
     vault_path text not null,
     secret_version integer not null default 0,
     settings jsonb not null default '{}'::jsonb,
     created_by text,
     revoked_reason text,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now(),
     revoked_at timestamptz
   )`,
  `create index connector_bindings_project_idx on connector_bindings (project_id, id desc)`,
];

const DOWN = ['drop table connector_bindings'];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
