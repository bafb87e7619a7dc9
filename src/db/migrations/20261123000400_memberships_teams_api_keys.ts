import type { Knex } from 'knex';

/**
 * Tenancy, identity side (src/tenancy): users (id = the token subject), org memberships with
 * roles, org-level teams (members + the projects they work on), and project API keys (only a
 * sha256 and a display prefix of the key are kept). Also `projects.description`, which the
 * control-plane spec's Project carries.
 * The statements run one by one: PGlite's extended protocol takes one command per query.
 */
const UP = [
  `alter table projects add column description text`,

  `create table users (
     id text primary key,
     email text,
     name text,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now()
   )`,
  // Not unique: the subject is the identity; an email can move between Keycloak accounts.
  `create index users_email_idx on users (lower(email)) where email is not null`,

  `create table memberships (
     org_id text not null references orgs(id) on delete cascade,
     user_id text not null references users(id) on delete cascade,
     role text not null,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now(),
     constraint memberships_pk primary key (org_id, user_id),
     constraint memberships_role check (role in ('owner', 'admin', 'member', 'viewer', 'publisher-admin'))
   )`,
  `create index memberships_user_idx on memberships (user_id)`,

  `create table teams (
     id text primary key,
     org_id text not null references orgs(id) on delete cascade,
     name text not null,
     description text,
     created_at timestamptz not null default now()
   )`,
  `create unique index teams_org_name_uq on teams (org_id, lower(name))`,

  `create table team_projects (
     team_id text not null references teams(id) on delete cascade,
     project_id text not null references projects(id) on delete cascade,
     constraint team_projects_pk primary key (team_id, project_id)
   )`,
  `create index team_projects_project_idx on team_projects (project_id)`,

  `create table team_members (
     team_id text not null references teams(id) on delete cascade,
     user_id text not null references users(id) on delete cascade,
     created_at timestamptz not null default now(),
     constraint team_members_pk primary key (team_id, user_id)
   )`,
  `create index team_members_user_idx on team_members (user_id)`,

  `create table api_keys (
     id text primary key,
     project_id text not null references projects(id) on delete cascade,
     org_id text not null references orgs(id) on delete cascade,
     name text not null,
     prefix text not null,
     hash text not null,
     instance_ids text[] not null default '{}',
     created_by text references users(id) on delete set null,
     created_at timestamptz not null default now(),
     expires_at timestamptz,
     revoked_at timestamptz,
     last_used_at timestamptz,
     constraint api_keys_hash_uq unique (hash),
     constraint api_keys_hash_shape check (hash ~ '^[0-9a-f]{64}$')
   )`,
  `create index api_keys_project_idx on api_keys (project_id, id)`,
];

const DOWN = [
  'drop table api_keys',
  'drop table team_members',
  'drop table team_projects',
  'drop table teams',
  'drop table memberships',
  'drop table users',
  'alter table projects drop column description',
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
