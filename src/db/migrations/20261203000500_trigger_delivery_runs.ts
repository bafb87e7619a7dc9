import type { Knex } from 'knex';

/**
 * A webhook delivery's run is durable: the accepted delivery (`trigger_deliveries`, written in
 * the transaction that decides the 202) holds what its run needs — the instance, the input after
 * the onTrigger hooks, the Idempotency-Key and the request id — and stays pending
 * (`finished_at` null) until the gateway answered its run. `lease_until` is how long the replica
 * that started it holds it; a pending delivery whose lease lapsed (its control plane crashed
 * after the 202, or the gateway was unreachable) is started again by any replica's scheduler
 * with the same Idempotency-Key, so it runs exactly once. Deliveries accepted before this
 * migration count as finished.
 */
const UP = [
  `alter table trigger_deliveries
     add column instance_id text,
     add column input text,
     add column idempotency_key text,
     add column request_id text,
     add column lease_until timestamptz,
     add column attempts integer not null default 0,
     add column finished_at timestamptz`,
  `update trigger_deliveries set finished_at = received_at`,
  `create index trigger_deliveries_pending_idx on trigger_deliveries (lease_until) where finished_at is null`,
];

const DOWN = [
  `drop index trigger_deliveries_pending_idx`,
  `alter table trigger_deliveries drop column instance_id, drop column input, drop column idempotency_key, drop column request_id,
     drop column lease_until, drop column attempts, drop column finished_at`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of UP) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of DOWN) await knex.raw(sql);
}
