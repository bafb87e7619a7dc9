import type { Knex } from 'knex';

/**
 * RAG knowledge bases (src/rag). Every row carries `org_id` and `project_id`, and every query in
 * src/rag/store.ts filters by both, so tenant isolation sits in the SQL itself.
 *
 * - knowledge_bases: one per project-scoped KB; `backend` (embedded | ragflow) and `dataset_id`
 *   (the Ragflow dataset, or the KB id itself for the embedded store) say where chunks live.
 * - kb_uploads: presigned upload tickets (`rag/<orgId>/<projectId>/<kbId>/<uploadId>/<file>`).
 * - kb_documents: an ingested upload (`backend_document_id`: Ragflow's document id).
 * - kb_chunks: the embedded store's chunks, full-text indexed (generated tsvector + GIN).
 * - ingestions: async ingestion jobs, `queued → running → done | failed`.
 * The statements run one by one: PGlite's extended protocol takes one command per query.
 */
const UP = [
  `create table knowledge_bases (
    id text primary key,
    org_id text not null references orgs(id) on delete restrict,
    project_id text not null references projects(id) on delete restrict,
    name text not null,
    description text,
    language text not null default 'en',
    chunk_method text not null default 'naive',
    backend text not null check (backend in ('embedded', 'ragflow')),
    dataset_id text not null,
    document_count integer not null default 0,
    chunk_count integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  )`,
  `create index knowledge_bases_scope_idx on knowledge_bases (org_id, project_id, created_at, id)`,
  `create table kb_uploads (
    id text primary key,
    org_id text not null,
    project_id text not null,
    kb_id text not null references knowledge_bases(id) on delete cascade,
    file_name text not null,
    content_type text not null,
    size_bytes bigint not null,
    max_bytes bigint not null,
    object_key text not null unique,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
  )`,
  `create index kb_uploads_scope_idx on kb_uploads (org_id, project_id, kb_id)`,
  `create table kb_documents (
    id text primary key,
    org_id text not null,
    project_id text not null,
    kb_id text not null references knowledge_bases(id) on delete cascade,
    upload_id text not null,
    title text,
    file_name text not null,
    content_type text not null,
    size_bytes bigint not null,
    backend_document_id text,
    pages integer,
    chunk_count integer,
    metadata jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now()
  )`,
  `create index kb_documents_scope_idx on kb_documents (org_id, project_id, kb_id)`,
  `create table kb_chunks (
    id text primary key,
    org_id text not null,
    project_id text not null,
    kb_id text not null references knowledge_bases(id) on delete cascade,
    document_id text not null references kb_documents(id) on delete cascade,
    seq integer not null,
    content text not null,
    tsv tsvector generated always as (to_tsvector('english', content)) stored
  )`,
  `create index kb_chunks_tsv_gin on kb_chunks using gin (tsv)`,
  `create index kb_chunks_scope_idx on kb_chunks (org_id, project_id, kb_id)`,
  `create table ingestions (
    id text primary key,
    org_id text not null,
    project_id text not null,
    kb_id text not null references knowledge_bases(id) on delete cascade,
    upload_id text not null,
    document_id text,
    title text,
    metadata jsonb not null default '{}'::jsonb,
    status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed')),
    progress real not null default 0 check (progress >= 0 and progress <= 1),
    pages integer,
    chunk_count integer,
    error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  )`,
  `create index ingestions_scope_idx on ingestions (org_id, project_id, kb_id)`,
  `create index ingestions_open_idx on ingestions (status) where status in ('queued', 'running')`,
];

const DOWN = ['drop table ingestions', 'drop table kb_chunks', 'drop table kb_documents', 'drop table kb_uploads', 'drop table knowledge_bases'];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
