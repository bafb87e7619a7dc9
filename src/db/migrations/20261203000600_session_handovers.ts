import type { Knex } from 'knex';

/**
 * `session_handovers`: a conversation handed over to a person (`human_handover`). Recorded
 * `pending` with the run's hold, `open` with the settle that delivered it (ticket ref), `failed`
 * with the void of a run whose delivery failed, `released` by releaseInstanceSession. At most one
 * pending or open hand-over per session (instance, owner, session id): a second request while one
 * is being created finds it instead of opening another ticket.
 */
const UP = [
  `create table session_handovers (
     id text primary key,
     instance_id text not null references instances(id),
     caller_kind text not null,
     caller_subject text not null,
     session_id text,
     run_id text not null unique,
     provider text not null,
     trigger text not null,
     status text not null check (status in ('pending', 'open', 'failed', 'released')),
     ticket_ref text,
     created_at timestamptz not null,
     opened_at timestamptz,
     released_at timestamptz,
     released_by text
   )`,
  `create unique index session_handovers_active_idx on session_handovers (instance_id, caller_kind, caller_subject, session_id)
     where status in ('pending', 'open') and session_id is not null`,
  `create index session_handovers_session_idx on session_handovers (instance_id, session_id)`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists session_handovers');
}
