/**
 * Signed inbound webhooks that start a run (`scheduler_triggers.webhookTrigger`).
 *
 * The sender signs `<timestamp>.<raw body>` with HMAC-SHA256 and the trigger's secret and sends
 * `X-Trigger-Timestamp: <unix seconds>` and `X-Trigger-Signature: v1=<hex>` (the scheme Stripe
 * and Slack use for their webhooks: the timestamp is inside the signed bytes, so an old delivery
 * cannot be re-dated). A delivery is refused, with nothing run, when a header is missing, the
 * timestamp is more than TOLERANCE_SECONDS from now, no `v1` value matches (compared in constant
 * time over equal-length digests), or the same signature was accepted before (replay; kept in
 * `trigger_deliveries` until it falls out of the window; deliveries.ts keeps its run durable).
 *
 * The secret lives in the secret store (`triggers/<instanceId>/<triggerId>`), never in the
 * database or a log; rotating it replaces it at once.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { one, rows } from '../db/tx';
import type { SecretStore } from '../secrets/secret-store';

export const TOLERANCE_SECONDS = 300;
export const SIGNATURE_HEADER = 'X-Trigger-Signature';
export const TIMESTAMP_HEADER = 'X-Trigger-Timestamp';

export type SignatureProblem = 'missing' | 'expired' | 'mismatch';

export const secretPath = (instanceId: string, triggerId: string) => `triggers/${instanceId}/${triggerId}`;

/** `v1=<hex>` of a delivery: what a sender computes (tests and the README's example use it). */
export function signDelivery(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/** Why a delivery's signature is refused, or undefined when it is good. */
export function signatureProblem(secret: string, timestamp: string | undefined, signature: string | undefined, rawBody: Buffer, nowMs: number): SignatureProblem | undefined {
  if (!timestamp || !signature) return 'missing';
  if (!/^\d{1,12}$/.test(timestamp)) return 'expired';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return 'expired';
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  let ok = false;
  for (const part of signature.split(',')) {
    const m = /^\s*v1=([0-9a-fA-F]{64})\s*$/.exec(part);
    if (!m) continue;
    // Every candidate is compared (no early exit), each in constant time.
    if (timingSafeEqual(Buffer.from(m[1]!, 'hex'), expected)) ok = true;
  }
  return ok ? undefined : 'mismatch';
}

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** What identifies an accepted delivery: its trigger and the digest of its signature. */
export const signatureDigest = (signature: string) => createHash('sha256').update(signature.trim()).digest('hex');

/** Deletes the deliveries out of the replay window whose run is done (a pending one stays until it ran). */
export async function purgeDeliveries(db: Knex, now: Date): Promise<number> {
  return (await rows(db, `delete from trigger_deliveries where expires_at < ? and finished_at is not null returning trigger_id`, [now])).length;
}

/** Runs started by the instance's triggers (schedules and webhooks) since UTC midnight. */
export async function triggeredRunsToday(db: Knex, instanceId: string, now: Date): Promise<number> {
  const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const r = await one<{ n: string | number }>(db, `select count(*) as n from runs where instance_id = ? and trigger_kind <> 'api' and started_at >= ?`, [instanceId, midnight]);
  return Number(r?.n ?? 0);
}

export async function readSecret(secrets: SecretStore, instanceId: string, triggerId: string): Promise<string | undefined> {
  try {
    return (await secrets.get(secretPath(instanceId, triggerId))).data.secret;
  } catch (err) {
    if ((err as Error).name === 'SecretMissingError') return undefined;
    throw err;
  }
}
