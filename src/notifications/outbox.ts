/**
 * The notification outbox: every notification of the platform (low balance, suspension, a
 * human handover, …) is a row here, written in the SAME transaction as the fact that causes it,
 * so a committed fact always gets its notification and a rolled-back one never does. The worker
 * (worker.ts) delivers the rows afterwards, retrying with exponential backoff and jitter until
 * delivered or dead-lettered.
 *
 * API:
 * - `notifyOrg(trx, {orgId, kind, data, dedupeKey})` — one row per channel the org configured on
 *   its notification endpoint (endpoints.ts): `webhook` when it has a URL, `email` when it has an
 *   address or asked for its admins. Nothing when the org configured nothing.
 * - `enqueueNotification(trx, {orgId, kind, channel, data, recipients?, dedupeKey?})` — one row on
 *   one channel, for callers that choose it themselves.
 * A `dedupeKey` (unique per channel) makes a repeated enqueue of the same fact a no-op.
 */
import type { Knex } from 'knex';
import { afterCommit, rows, type Db } from '../db/tx';
import { newId } from '../platform/ids';

export type NotificationChannel = 'webhook' | 'email';

export interface NotificationInput {
  orgId: string;
  /** Dotted event type, e.g. `wallet.low_balance`. */
  kind: string;
  /** The event's facts (the webhook body's `data`, the e-mail's lines). Never a secret. */
  data: Record<string, unknown>;
  dedupeKey?: string;
  at?: Date;
}

export interface OutboxRow {
  id: string;
  org_id: string;
  kind: string;
  channel: NotificationChannel;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
  recipients: string[] | null;
  dedupe_key: string | null;
  attempts: number;
  next_attempt_at: Date;
  locked_until: Date | null;
  delivered_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  dead: boolean;
  created_at: Date;
  updated_at: Date;
}

const committed = new Set<() => void>();

/** Called after a transaction that wrote a notification commits (the worker wakes up). */
export function onNotificationCommitted(fn: () => void): () => void {
  committed.add(fn);
  return () => void committed.delete(fn);
}

/** Writes one notification on one channel; answers its id (undefined when the dedupe key was used). */
export async function enqueueNotification(
  db: Db,
  input: NotificationInput & { channel: NotificationChannel; recipients?: string[] },
): Promise<string | undefined> {
  const at = input.at ?? new Date();
  const id = newId('ntf', at.getTime());
  const payload = { type: input.kind, timestamp: at.toISOString(), data: input.data };
  const inserted = await rows<{ id: string }>(
    db,
    `insert into notification_outbox (id, org_id, kind, channel, payload, recipients, dedupe_key, next_attempt_at, created_at, updated_at)
     values (?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?, ?, ?)
     on conflict (channel, dedupe_key) do nothing returning id`,
    [id, input.orgId, input.kind, input.channel, JSON.stringify(payload), input.recipients ? JSON.stringify(input.recipients) : null, input.dedupeKey ?? null, at, at, at],
  );
  const written = inserted[0]?.id;
  if (written && committed.size) afterCommit(db, () => { for (const fn of committed) fn(); });
  return written;
}

/** The org's configured channels, read in the caller's transaction. */
interface EndpointChannels {
  url: string | null;
  email: string | null;
  email_admins: boolean;
}

/** The verified e-mail addresses of the org's owners and admins. */
export async function adminEmails(db: Db, orgId: string): Promise<string[]> {
  const r = await rows<{ email: string }>(
    db,
    `select distinct lower(u.email) as email from memberships m join users u on u.id = m.user_id
      where m.org_id = ? and m.role in ('owner', 'admin') and u.email is not null and u.email_verified order by 1`,
    [orgId],
  );
  return r.map((x) => x.email);
}

/**
 * Notifies the org on every channel it configured; answers the ids written. Runs in the caller's
 * transaction (one indexed read of the org's endpoint, then one insert per channel).
 */
export async function notifyOrg(db: Db, input: NotificationInput): Promise<string[]> {
  const [ep] = await rows<EndpointChannels>(db, `select url, email, email_admins from notification_endpoints where org_id = ?`, [input.orgId]);
  if (!ep) return [];
  const ids: string[] = [];
  if (ep.url) {
    const id = await enqueueNotification(db, { ...input, channel: 'webhook' });
    if (id) ids.push(id);
  }
  const recipients = new Set<string>();
  if (ep.email) recipients.add(ep.email.toLowerCase());
  if (ep.email_admins) for (const e of await adminEmails(db, input.orgId)) recipients.add(e);
  if (recipients.size) {
    const id = await enqueueNotification(db, { ...input, channel: 'email', recipients: [...recipients] });
    if (id) ids.push(id);
  }
  return ids;
}

/**
 * Claims up to `limit` due rows for `leaseMs`: rows locked by another claimer are skipped
 * (`FOR UPDATE SKIP LOCKED`), and the lease keeps them ours after the claim commits.
 */
export async function claimDue(db: Knex, limit: number, leaseMs: number, now: Date): Promise<OutboxRow[]> {
  return db.transaction(async (trx) => {
    const due = await rows<{ id: string }>(
      trx,
      `select id from notification_outbox
        where delivered_at is null and not dead and next_attempt_at <= ? and (locked_until is null or locked_until <= ?)
        order by next_attempt_at, id limit ? for update skip locked`,
      [now, now, limit],
    );
    if (!due.length) return [];
    return rows<OutboxRow>(
      trx,
      `update notification_outbox set locked_until = ? where id in (${due.map(() => '?').join(', ')}) returning *`,
      [new Date(now.getTime() + leaseMs), ...due.map((d) => d.id)],
    );
  });
}

export interface AttemptOutcome {
  ok: boolean;
  /** The receiver's HTTP status or SMTP reply code, when there was one. */
  status?: number;
  /** Why it failed (never a secret or a body the receiver sent). */
  error?: string;
  /** The failure will not get better with retries (endpoint removed, target refused). */
  permanent?: boolean;
}

/** Exponential backoff with full jitter: a random delay in [base·2^(n-1)/2, base·2^(n-1)], capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Records one delivery attempt of a claimed row and gives its lease back. */
export async function recordAttempt(
  db: Db,
  row: Pick<OutboxRow, 'id' | 'attempts'>,
  outcome: AttemptOutcome,
  now: Date,
  retry: { maxAttempts: number; baseMs: number; maxMs: number; random?: () => number },
): Promise<'delivered' | 'retry' | 'dead'> {
  const attempts = row.attempts + 1;
  const result = outcome.ok ? 'delivered' : outcome.permanent || attempts >= retry.maxAttempts ? 'dead' : 'retry';
  const next = result === 'retry' ? new Date(now.getTime() + backoffMs(attempts, retry.baseMs, retry.maxMs, retry.random)) : now;
  await (db as Knex).raw(
    `update notification_outbox set attempts = ?, locked_until = null, updated_at = ?, last_status = ?, last_error = ?,
            delivered_at = ?, dead = ?, next_attempt_at = ?
      where id = ?`,
    [attempts, now, outcome.status ?? null, outcome.ok ? null : (outcome.error ?? 'failed').slice(0, 500), result === 'delivered' ? now : null, result === 'dead', next, row.id],
  );
  return result;
}

/** Gives leases back without recording an attempt (shutdown). */
export async function releaseLeases(db: Knex, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await db.raw(`update notification_outbox set locked_until = null where id in (${ids.map(() => '?').join(', ')}) and delivered_at is null`, ids);
}

export interface DeliveryView {
  id: string;
  kind: string;
  channel: NotificationChannel;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  data: Record<string, unknown>;
}

export function deliveryView(r: OutboxRow): DeliveryView {
  return {
    id: r.id,
    kind: r.kind,
    channel: r.channel,
    status: r.delivered_at ? 'delivered' : r.dead ? 'dead' : 'pending',
    attempts: r.attempts,
    lastStatus: r.last_status,
    lastError: r.last_error,
    nextAttemptAt: r.delivered_at || r.dead ? null : new Date(r.next_attempt_at).toISOString(),
    deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
    createdAt: new Date(r.created_at).toISOString(),
    data: r.payload.data,
  };
}

/** The org's most recent notifications, newest first (keyset cursor = the last id of a page). */
export async function listDeliveries(db: Db, orgId: string, q: { limit: number; cursor?: string }): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  const page = await rows<OutboxRow>(
    db,
    `select * from notification_outbox where org_id = ? ${q.cursor ? 'and id < ?' : ''} order by id desc limit ?`,
    q.cursor ? [orgId, q.cursor, q.limit + 1] : [orgId, q.limit + 1],
  );
  const items = page.slice(0, q.limit).map(deliveryView);
  return { items, nextCursor: page.length > q.limit ? items[items.length - 1]!.id : null };
}
