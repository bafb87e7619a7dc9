import type { Knex } from 'knex';

/**
 * Which Langflow flow holds each certified artifact (src/runtime/langflow/flow-store.ts).
 * Langflow 1.0–1.4 assigns its own flow ids (FlowCreate has no `id`), so the Runner records the id
 * Langflow answered for an artifact's sha256 and runs that flow; keyed by the Langflow server too,
 * since another server knows none of these ids. One row per (server, sha256): the first runner to
 * record a flow wins, later ones run the recorded flow.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create table langflow_flows (
    langflow_url text not null,
    artifact_sha256 text not null check (artifact_sha256 ~ '^[a-f0-9]{64}$'),
    flow_id text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (langflow_url, artifact_sha256)
  )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists langflow_flows');
}
