/**
 * The dead-letter store over `provisioner_dead_letters` (migrations 20261123000600, 20261123001250).
 * One row per Saleor order line of one Saleor instance (its API URL); a later inbox round or a
 * replay updates it. Holds the normalized Control Plane
 * request and what it was mapped from, never a signature or a secret.
 */
import type { Knex } from 'knex';
import type { DeadLetter, DeadLetterList } from '../../generated/provisioner/types';
import { newId } from '../platform/ids';
import type { LineSource, OrderPaidRequest } from './order';

export type DeadLetterStatus = 'pending' | 'replayed' | 'failed';

export interface DeadLetterError {
  code: string | null;
  message: string;
  httpStatus: number | null;
}

export interface DeadLetterResolution {
  httpStatus: number;
  replayed: boolean;
  orgId: string | null;
  projectId: string | null;
  walletId: string | null;
  instanceId: string | null;
  ledgerEntryId: string | null;
}

export interface DeadLetterInput {
  orderId: string;
  lineId: string;
  orderNumber: string | null;
  idempotencyKey: string;
  saleorApiUrl: string;
  request: OrderPaidRequest | null;
  source: LineSource;
  status: Exclude<DeadLetterStatus, 'replayed'>;
  error: DeadLetterError;
  attempts: number;
  requestId: string;
}

interface Row {
  id: string;
  order_id: string;
  line_id: string;
  order_number: string | null;
  idempotency_key: string;
  saleor_api_url: string;
  kind: 'instance' | 'credit_pack' | null;
  status: DeadLetterStatus;
  request: OrderPaidRequest | null;
  source: LineSource;
  last_error: DeadLetter['lastError'];
  attempts: number;
  result: DeadLetterResolution | null;
  request_id: string | null;
  created_at: Date;
  updated_at: Date;
  replayed_at: Date | null;
}

const TABLE = 'provisioner_dead_letters';
const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function toDeadLetter(r: Row): DeadLetter {
  return {
    id: r.id,
    orderId: r.order_id,
    lineId: r.line_id,
    orderNumber: r.order_number,
    idempotencyKey: r.idempotency_key,
    saleorApiUrl: r.saleor_api_url || null,
    kind: r.kind,
    status: r.status,
    request: r.request as DeadLetter['request'],
    source: r.source as DeadLetter['source'],
    lastError: r.last_error,
    attempts: r.attempts,
    result: r.result,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    replayedAt: iso(r.replayed_at),
  };
}

export interface DeadLetterStore {
  /**
   * Records a line that did not go through: inserts, or updates the line's existing row (a later
   * round of the inbox) adding `attempts` (the calls made since the last record). A row already
   * `replayed` is left alone and returned.
   */
  record(input: DeadLetterInput): Promise<DeadLetter>;
  /** Marks the line's open dead letter (if any) as resolved by a later delivery. */
  resolveLine(saleorApiUrl: string, orderId: string, lineId: string, resolution: DeadLetterResolution, attempts: number, request: OrderPaidRequest): Promise<DeadLetter | undefined>;
  /** Updates a dead letter after an operator replay. */
  afterReplay(
    id: string,
    update: { status: DeadLetterStatus; attempts: number; request: OrderPaidRequest | null; error?: DeadLetterError; resolution?: DeadLetterResolution },
  ): Promise<DeadLetter>;
  get(id: string): Promise<DeadLetter | undefined>;
  list(q: { status?: DeadLetterStatus; orderId?: string; cursor?: string; limit: number }): Promise<DeadLetterList>;
}

export function createDeadLetterStore(db: Knex, now: () => Date = () => new Date()): DeadLetterStore {
  const one = async (id: string): Promise<DeadLetter> => toDeadLetter((await db<Row>(TABLE).where({ id }).first())!);

  return {
    async record(input) {
      const at = now();
      const lastError = { ...input.error, at: at.toISOString() };
      const rows = (await db.raw(
        `insert into ${TABLE} as d
           (id, order_id, line_id, order_number, idempotency_key, saleor_api_url, kind, status, request, source, last_error, attempts, request_id, created_at, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?, ?)
         on conflict (saleor_api_url, order_id, line_id) do update set
           status = excluded.status,
           kind = coalesce(excluded.kind, d.kind),
           request = coalesce(excluded.request, d.request),
           source = excluded.source,
           last_error = excluded.last_error,
           attempts = d.attempts + excluded.attempts,
           request_id = excluded.request_id,
           updated_at = excluded.updated_at
         where d.status <> 'replayed'
         returning *`,
        [
          newId('dlq'), input.orderId, input.lineId, input.orderNumber, input.idempotencyKey, input.saleorApiUrl,
          input.request?.kind ?? null, input.status, json(input.request), json(input.source), json(lastError),
          input.attempts, input.requestId, at, at,
        ],
      )) as { rows: Row[] };
      const row = rows.rows[0] ?? (await db<Row>(TABLE).where({ saleor_api_url: input.saleorApiUrl, order_id: input.orderId, line_id: input.lineId }).first());
      return toDeadLetter(row!);
    },

    async resolveLine(saleorApiUrl, orderId, lineId, resolution, attempts, request) {
      const at = now();
      const rows = (await db<Row>(TABLE)
        .where({ saleor_api_url: saleorApiUrl, order_id: orderId, line_id: lineId })
        .whereNot({ status: 'replayed' })
        .update({
          status: 'replayed',
          result: json(resolution) as never,
          request: json(request) as never,
          kind: request.kind,
          attempts: db.raw('attempts + ?', [attempts]) as never,
          updated_at: at,
          replayed_at: at,
        })
        .returning('*')) as Row[];
      return rows[0] ? toDeadLetter(rows[0]) : undefined;
    },

    async afterReplay(id, u) {
      const at = now();
      const patch: Record<string, unknown> = {
        status: u.status,
        attempts: db.raw('attempts + ?', [u.attempts]),
        request: json(u.request),
        kind: u.request?.kind ?? null,
        updated_at: at,
      };
      if (u.error) patch.last_error = json({ ...u.error, at: at.toISOString() });
      if (u.resolution) {
        patch.result = json(u.resolution);
        patch.replayed_at = at;
      }
      await db(TABLE).where({ id }).update(patch);
      return one(id);
    },

    async get(id) {
      const row = await db<Row>(TABLE).where({ id }).first();
      return row ? toDeadLetter(row) : undefined;
    },

    async list(q) {
      const query = db<Row>(TABLE).orderBy('id', 'desc').limit(q.limit + 1);
      if (q.status) query.where({ status: q.status });
      if (q.orderId) query.where({ order_id: q.orderId });
      if (q.cursor) query.where('id', '<', q.cursor);
      const rows = await query;
      const page = rows.slice(0, q.limit);
      return { items: page.map(toDeadLetter), nextCursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
    },
  };
}
