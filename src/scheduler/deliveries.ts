/**
 * The runs of accepted webhook deliveries, durable (`trigger_deliveries`, migration
 * 20261203000500_trigger_delivery_runs):
 *
 * - accepting a delivery records it in the transaction that decides the 202 — its signature
 *   (replays are refused), the instance, the input after the onTrigger hooks, the run's
 *   Idempotency-Key and request id — leased to the accepting replica, which starts the run at once;
 * - the run answered (any status) → the delivery is finished; the gateway unreachable → it is
 *   retried after RETRY_MS;
 * - the replica died after the 202 → its lease lapses and any replica's scheduler claims the
 *   delivery (`FOR UPDATE SKIP LOCKED`) and starts it with the same Idempotency-Key, so the
 *   gateway runs it once (a run that did start is answered again, not repeated);
 * - a delivery still not run GIVE_UP_MS after it was accepted is given up (logged).
 */
import type { Knex } from 'knex';
import { rows } from '../db/tx';
import { signatureDigest, TOLERANCE_SECONDS } from './webhook';

/** How long the replica that started a delivery's run holds it (the gateway ends a run after 60 s). */
export const DELIVERY_LEASE_MS = 150_000;
/** When an unreachable gateway is tried again. */
export const RETRY_MS = 5_000;
/** A delivery that could not be run for this long is given up. */
export const GIVE_UP_MS = 24 * 60 * 60_000;

export interface PendingDelivery {
  triggerId: string;
  signatureSha256: string;
  instanceId: string;
  input: string;
  idempotencyKey: string;
  requestId: string;
}

export interface AcceptedDelivery extends Omit<PendingDelivery, 'signatureSha256'> {
  signature: string;
  runId: string;
}

/**
 * Records an accepted delivery, pending its run and leased to this replica; false when the same
 * signed delivery was accepted before (a replay). Call it in the transaction that answers 202.
 */
export async function recordDelivery(db: Knex, d: AcceptedDelivery, now: Date, leaseMs = DELIVERY_LEASE_MS): Promise<PendingDelivery | undefined> {
  const digest = signatureDigest(d.signature);
  const inserted = await rows<{ trigger_id: string }>(
    db,
    `insert into trigger_deliveries (trigger_id, signature_sha256, run_id, received_at, expires_at, instance_id, input, idempotency_key, request_id, lease_until, attempts)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
     on conflict (trigger_id, signature_sha256) do nothing returning trigger_id`,
    [d.triggerId, digest, d.runId, now, new Date(now.getTime() + 2 * TOLERANCE_SECONDS * 1000), d.instanceId, d.input, d.idempotencyKey, d.requestId, new Date(now.getTime() + leaseMs)],
  );
  if (!inserted.length) return undefined;
  return { triggerId: d.triggerId, signatureSha256: digest, instanceId: d.instanceId, input: d.input, idempotencyKey: d.idempotencyKey, requestId: d.requestId };
}

/** Pending deliveries whose lease lapsed, leased to the caller (at most `limit`); gives up the too old ones. */
export async function claimPendingDeliveries(db: Knex, o: { now: Date; leaseMs?: number; limit: number; onGivenUp?: (d: { triggerId: string; instanceId: string }) => void }): Promise<PendingDelivery[]> {
  return db.transaction(async (trx) => {
    const given = await rows<{ trigger_id: string; instance_id: string }>(
      trx,
      `update trigger_deliveries set finished_at = ? where finished_at is null and received_at < ? returning trigger_id, instance_id`,
      [o.now, new Date(o.now.getTime() - GIVE_UP_MS)],
    );
    for (const g of given) o.onGivenUp?.({ triggerId: g.trigger_id, instanceId: g.instance_id });
    const due = await rows<{ trigger_id: string; signature_sha256: string; instance_id: string; input: string; idempotency_key: string; request_id: string }>(
      trx,
      `select trigger_id, signature_sha256, instance_id, input, idempotency_key, request_id from trigger_deliveries
        where finished_at is null and lease_until < ?
        order by received_at limit ? for update skip locked`,
      [o.now, o.limit],
    );
    for (const d of due) {
      await trx.raw(`update trigger_deliveries set lease_until = ?, attempts = attempts + 1 where trigger_id = ? and signature_sha256 = ?`, [
        new Date(o.now.getTime() + (o.leaseMs ?? DELIVERY_LEASE_MS)), d.trigger_id, d.signature_sha256,
      ]);
    }
    return due.map((d) => ({ triggerId: d.trigger_id, signatureSha256: d.signature_sha256, instanceId: d.instance_id, input: d.input, idempotencyKey: d.idempotency_key, requestId: d.request_id }));
  });
}

/** The gateway answered the delivery's run: nothing more to do for it. */
export async function finishDelivery(db: Knex, d: Pick<PendingDelivery, 'triggerId' | 'signatureSha256'>, now: Date): Promise<void> {
  await db.raw(`update trigger_deliveries set finished_at = ? where trigger_id = ? and signature_sha256 = ?`, [now, d.triggerId, d.signatureSha256]);
}

/** The gateway could not be reached: any replica tries again from `at`. */
export async function retryDeliveryAt(db: Knex, d: Pick<PendingDelivery, 'triggerId' | 'signatureSha256'>, at: Date): Promise<void> {
  await db.raw(`update trigger_deliveries set lease_until = ? where trigger_id = ? and signature_sha256 = ? and finished_at is null`, [at, d.triggerId, d.signatureSha256]);
}
