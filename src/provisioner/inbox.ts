/**
 * The inbox over `provisioner_inbox` (migration 20261123001250): a verified Saleor webhook is
 * written here — alone, in its own statement — and the webhook is answered; the inbox worker
 * (inbox-worker.ts) delivers it to the Control Plane afterwards. One row per Saleor instance and
 * order: Saleor's redelivery of a webhook already held only counts `deliveries`.
 *
 * Claiming is a lease: `claimDue` marks due rows `locked_until = now + lease` with
 * `FOR UPDATE SKIP LOCKED`, so replicas never deliver one row at the same time, and a worker that
 * died mid-delivery holds its rows only until the lease runs out. Times come from the caller's
 * clock (`now`), the same on PGlite and PostgreSQL.
 */
import type { Knex } from 'knex';
import type { InboxLine, InboxMessage, InboxMessageList } from '../../generated/provisioner/types';
import { newId } from '../platform/ids';
import type { ParsedOrder } from './order';
import { idempotencyKeyFor } from './order';

export type InboxStatus = 'queued' | 'delivered' | 'dead_lettered';

/** What the inbox knows about one line between rounds (by line id). */
export interface LineState {
  outcome: 'pending' | 'accepted' | 'dead_lettered';
  kind: 'instance' | 'credit_pack' | null;
  attempts: number;
  cpStatus: number | null;
  replayed: boolean;
  deadLetterId: string | null;
  deadLetterStatus: 'pending' | 'replayed' | 'failed' | null;
  /** Calls already counted on the line's dead letter. */
  recordedAttempts: number;
}

export interface InboxError {
  code: string | null;
  message: string;
  httpStatus: number | null;
}

/** A row as the worker uses it. */
export interface InboxRecord {
  id: string;
  saleorApiUrl: string;
  order: ParsedOrder;
  status: InboxStatus;
  lines: Record<string, LineState>;
  attempts: number;
  requestId: string | null;
  receivedAt: Date;
}

interface Row {
  id: string;
  saleor_api_url: string;
  order_id: string;
  order_number: string | null;
  payload_form: 'subscription' | 'legacy';
  order: ParsedOrder;
  signed_with: 'jws' | 'hmac';
  jws_header: 'crit' | 'no-crit' | null;
  status: InboxStatus;
  lines: Record<string, LineState>;
  attempts: number;
  deliveries: number;
  next_attempt_at: Date;
  locked_until: Date | null;
  last_error: (InboxError & { at: string }) | null;
  request_id: string | null;
  received_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

const TABLE = 'provisioner_inbox';
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
const parse = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

export const emptyLine = (): LineState => ({ outcome: 'pending', kind: null, attempts: 0, cpStatus: null, replayed: false, deadLetterId: null, deadLetterStatus: null, recordedAttempts: 0 });

function toRecord(r: Row): InboxRecord {
  return {
    id: r.id,
    saleorApiUrl: r.saleor_api_url,
    order: parse(r.order),
    status: r.status,
    lines: parse(r.lines) ?? {},
    attempts: r.attempts,
    requestId: r.request_id,
    receivedAt: new Date(r.received_at),
  };
}

export function toInboxMessage(r: Row): InboxMessage {
  const order = parse(r.order);
  const states = parse(r.lines) ?? {};
  const lines: InboxLine[] = order.lines.map((l) => {
    const s = states[l.id] ?? emptyLine();
    return {
      lineId: l.id,
      idempotencyKey: idempotencyKeyFor(r.saleor_api_url, order.id, l.id),
      kind: s.kind,
      outcome: s.outcome,
      attempts: s.attempts,
      cpStatus: s.cpStatus,
      replayed: s.replayed,
      deadLetterId: s.deadLetterId,
      deadLetterStatus: s.deadLetterStatus,
    };
  });
  return {
    id: r.id,
    saleorApiUrl: r.saleor_api_url,
    orderId: r.order_id,
    orderNumber: r.order_number,
    payloadForm: r.payload_form,
    signedWith: r.signed_with,
    jwsHeader: r.jws_header,
    status: r.status,
    attempts: r.attempts,
    deliveries: r.deliveries,
    nextAttemptAt: r.status === 'queued' ? iso(r.next_attempt_at) : null,
    lastError: r.last_error,
    lines,
    receivedAt: iso(r.received_at)!,
    updatedAt: iso(r.updated_at)!,
    completedAt: iso(r.completed_at),
  };
}

export interface ReceiveInput {
  saleorApiUrl: string;
  order: ParsedOrder;
  signedWith: 'jws' | 'hmac';
  jwsHeader: 'crit' | 'no-crit' | null;
  requestId: string;
}

export interface InboxStore {
  /** Holds a verified webhook (or counts a redelivery of one held already). */
  receive(input: ReceiveInput): Promise<{ message: InboxMessage; duplicate: boolean }>;
  /** Leases up to `limit` due rows for `leaseMs`. */
  claimDue(limit: number, leaseMs: number): Promise<InboxRecord[]>;
  /** Records a delivery round and gives the lease back. */
  afterRound(id: string, u: { status: InboxStatus; lines: Record<string, LineState>; nextAttemptAt: Date; lastError: InboxError | null }): Promise<void>;
  /** Gives the lease back without recording a round (shutdown): the row is due again at once. */
  release(ids: string[]): Promise<void>;
  get(id: string): Promise<InboxMessage | undefined>;
  list(q: { status?: InboxStatus; orderId?: string; cursor?: string; limit: number }): Promise<InboxMessageList>;
}

export function createInboxStore(db: Knex, now: () => Date = () => new Date()): InboxStore {
  return {
    async receive(input) {
      const at = now();
      const { rows } = (await db.raw(
        `insert into ${TABLE} as i
           (id, saleor_api_url, order_id, order_number, payload_form, "order", signed_with, jws_header, next_attempt_at, request_id, received_at, updated_at)
         values (?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?)
         on conflict (saleor_api_url, order_id) do update set deliveries = i.deliveries + 1, updated_at = excluded.updated_at
         returning *, (xmax = 0) as inserted`,
        [
          newId('inb', at.getTime()), input.saleorApiUrl, input.order.id, input.order.number, input.order.form, JSON.stringify(input.order),
          input.signedWith, input.jwsHeader, at, input.requestId, at, at,
        ],
      )) as { rows: (Row & { inserted: boolean })[] };
      const row = rows[0]!;
      return { message: toInboxMessage(row), duplicate: !row.inserted };
    },

    async claimDue(limit, leaseMs) {
      const at = now();
      const { rows } = (await db.raw(
        `update ${TABLE} set locked_until = ?, attempts = attempts + 1, updated_at = ?
          where id in (
            select id from ${TABLE}
             where status = 'queued' and next_attempt_at <= ? and (locked_until is null or locked_until <= ?)
             order by next_attempt_at, id
             limit ?
             for update skip locked)
          returning *`,
        [new Date(at.getTime() + leaseMs), at, at, at, limit],
      )) as { rows: Row[] };
      return rows.map(toRecord);
    },

    async afterRound(id, u) {
      const at = now();
      await db(TABLE)
        .where({ id })
        .update({
          status: u.status,
          lines: JSON.stringify(u.lines) as never,
          next_attempt_at: u.nextAttemptAt,
          locked_until: null,
          last_error: (u.lastError ? JSON.stringify({ ...u.lastError, at: at.toISOString() }) : null) as never,
          updated_at: at,
          completed_at: u.status === 'queued' ? null : at,
        });
    },

    async release(ids) {
      if (ids.length) await db(TABLE).whereIn('id', ids).update({ locked_until: null });
    },

    async get(id) {
      const row = await db<Row>(TABLE).where({ id }).first();
      return row ? toInboxMessage(row) : undefined;
    },

    async list(q) {
      const query = db<Row>(TABLE).orderBy('id', 'desc').limit(q.limit + 1);
      if (q.status) query.where({ status: q.status });
      if (q.orderId) query.where({ order_id: q.orderId });
      if (q.cursor) query.where('id', '<', q.cursor);
      const rows = await query;
      const page = rows.slice(0, q.limit);
      return { items: page.map(toInboxMessage), nextCursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
    },
  };
}
