import type { Knex } from 'knex';

/**
 * Catalog (src/catalog): offerings, their lifecycle history, and immutable offering versions.
 *
 * - `offerings.search` is a generated, weighted tsvector (name A, summary B, description C) with a
 *   GIN index; the attribute arrays (value streams, capabilities, connectors, languages,
 *   modalities) have GIN indexes for `@>` filters; btree indexes serve the keyset orders
 *   (newest: created_at desc, id desc; name: name, id) with and without the lifecycle filter.
 * - `offerings.capabilities` / `offerings.plans` are copies from the published (else the latest)
 *   version, so a search never joins versions.
 * - `offering_versions` is immutable: a trigger refuses any UPDATE of a content column and every
 *   DELETE. Only the certification columns (status, errors, registry version, checked-at) and
 *   `published_at` change, and a `passed` certification is final.
 */
const UP = [
  `create table offerings (
     id text primary key,
     slug text not null,
     name text not null,
     category text not null,
     summary text not null,
     description text not null default '',
     value_streams text[] not null default '{}',
     capabilities text[] not null default '{}',
     connectors text[] not null default '{}',
     languages text[] not null default '{}',
     modalities text[] not null default '{}',
     lifecycle text not null default 'draft',
     icon_url text,
     saleor_product_id text,
     published_version_id text,
     latest_version_id text,
     plans jsonb not null default '[]',
     created_by text,
     updated_by text,
     created_at timestamptz not null default date_trunc('milliseconds', now()),
     updated_at timestamptz not null default date_trunc('milliseconds', now()),
     search tsvector generated always as (
       setweight(to_tsvector('english'::regconfig, name), 'A') ||
       setweight(to_tsvector('english'::regconfig, summary), 'B') ||
       setweight(to_tsvector('english'::regconfig, description), 'C')
     ) stored,
     constraint offerings_id_format check (id ~ '^off_[A-Za-z0-9]{8,40}$'),
     constraint offerings_slug_format check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 80),
     constraint offerings_slug_unique unique (slug),
     constraint offerings_category check (category in ('agents', 'apps', 'assistants', 'automations')),
     constraint offerings_lifecycle check (lifecycle in ('draft', 'published', 'paused', 'eos', 'eol')),
     constraint offerings_published_has_version check (lifecycle = 'draft' or published_version_id is not null)
   )`,
  `create index offerings_search_gin on offerings using gin (search)`,
  `create index offerings_value_streams_gin on offerings using gin (value_streams)`,
  `create index offerings_capabilities_gin on offerings using gin (capabilities)`,
  `create index offerings_connectors_gin on offerings using gin (connectors)`,
  `create index offerings_languages_gin on offerings using gin (languages)`,
  `create index offerings_modalities_gin on offerings using gin (modalities)`,
  `create index offerings_lifecycle_newest on offerings (lifecycle, created_at desc, id desc)`,
  `create index offerings_lifecycle_name on offerings (lifecycle, name, id)`,
  `create index offerings_lifecycle_category_newest on offerings (lifecycle, category, created_at desc, id desc)`,
  `create index offerings_newest on offerings (created_at desc, id desc)`,
  `create index offerings_name on offerings (name, id)`,

  `create table offering_versions (
     id text primary key,
     offering_id text not null references offerings (id),
     version text not null,
     changelog text,
     source text not null,
     flow_id text not null,
     artifact_key text not null,
     artifact_uri text not null,
     artifact_sha256 text not null,
     artifact_size bigint not null,
     capabilities jsonb not null,
     plans jsonb not null,
     created_by text,
     created_at timestamptz not null default date_trunc('milliseconds', now()),
     certification_status text not null default 'pending',
     certification_errors jsonb not null default '[]',
     registry_version text,
     certified_at timestamptz,
     published_at timestamptz,
     constraint offering_versions_id_format check (id ~ '^ov_[A-Za-z0-9]{8,40}$'),
     constraint offering_versions_version_unique unique (offering_id, version),
     constraint offering_versions_source check (source in ('api', 'langflow')),
     constraint offering_versions_sha256 check (artifact_sha256 ~ '^[a-f0-9]{64}$'),
     constraint offering_versions_size check (artifact_size >= 0),
     constraint offering_versions_certification check (certification_status in ('pending', 'passed', 'failed')),
     constraint offering_versions_published_is_certified check (published_at is null or certification_status = 'passed')
   )`,
  `create index offering_versions_offering_newest on offering_versions (offering_id, created_at desc, id desc)`,
  `alter table offerings
     add constraint offerings_published_version_fk foreign key (published_version_id) references offering_versions (id),
     add constraint offerings_latest_version_fk foreign key (latest_version_id) references offering_versions (id)`,

  `create function offering_versions_immutable() returns trigger language plpgsql as $$
   begin
     if tg_op = 'DELETE' then
       raise exception 'offering versions are immutable: % cannot be deleted', old.id using errcode = 'restrict_violation';
     end if;
     if (new.id, new.offering_id, new.version, new.changelog, new.source, new.flow_id, new.artifact_key,
         new.artifact_uri, new.artifact_sha256, new.artifact_size, new.capabilities, new.plans,
         new.created_by, new.created_at)
        is distinct from
        (old.id, old.offering_id, old.version, old.changelog, old.source, old.flow_id, old.artifact_key,
         old.artifact_uri, old.artifact_sha256, old.artifact_size, old.capabilities, old.plans,
         old.created_by, old.created_at) then
       raise exception 'offering versions are immutable: only certification and publication may change on %', old.id
         using errcode = 'restrict_violation';
     end if;
     if old.certification_status = 'passed' and
        (new.certification_status, new.certification_errors, new.registry_version, new.certified_at)
          is distinct from
        (old.certification_status, old.certification_errors, old.registry_version, old.certified_at) then
       raise exception 'offering version % is certified for good', old.id using errcode = 'restrict_violation';
     end if;
     if old.published_at is not null and new.published_at is distinct from old.published_at then
       raise exception 'offering version % keeps its first publication time', old.id using errcode = 'restrict_violation';
     end if;
     return new;
   end
   $$`,
  `create trigger offering_versions_immutable before update or delete on offering_versions
     for each row execute function offering_versions_immutable()`,

  `create table offering_transitions (
     id bigint generated always as identity primary key,
     offering_id text not null references offerings (id),
     from_state text not null,
     to_state text not null,
     version_id text references offering_versions (id),
     reason text,
     actor text,
     at timestamptz not null default now()
   )`,
  `create index offering_transitions_offering on offering_transitions (offering_id, id)`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table offering_transitions');
  await knex.raw('alter table offerings drop constraint offerings_published_version_fk, drop constraint offerings_latest_version_fk');
  await knex.raw('drop table offering_versions');
  await knex.raw('drop function offering_versions_immutable()');
  await knex.raw('drop table offerings');
}
