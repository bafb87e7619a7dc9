/**
 * Catalog search: full text (`q`) over name (weight A), summary (B) and description (C) with
 * the GIN-indexed `search` tsvector; equality/containment filters on category, value stream,
 * capability, connector, language, modality (GIN-indexed text[]), lifecycle; three stable
 * orders with keyset pagination (never OFFSET, so page 500 costs what page 1 does):
 *
 *   relevance  ts_rank(search, query) desc, id desc     (needs q; without q it is `newest`)
 *   newest     created_at desc, id desc
 *   name       name asc, id asc
 *
 * `q` is reduced to words (letters and digits, at most 12) joined with AND, the last one as a
 * prefix (`assist` finds "Assistant"), stemmed with the `english` configuration — so user
 * input can never inject tsquery syntax. A `q` without any word matches nothing.
 */
import type { ListOfferingsQuery, OfferingList, OfferingLifecycle } from '../../generated/control-plane/types';
import type { Db } from '../db/tx';
import { AppError } from '../platform/errors';
import { decodeCursor, encodeCursor, isIsoTimestamp } from './cursor';
import { PUBLICLY_LISTED } from './lifecycle';
import { OFFERING_COLUMNS, toOffering, type OfferingRow } from './rows';
import { raw } from 'objection';
import { OfferingModel } from './models';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;
const OFFERING_ID = /^off_[A-Za-z0-9]{8,40}$/;

export type SearchQuery = ListOfferingsQuery;

/** The words of `q` as a safe tsquery (`w1 & w2 & w3:*`), or undefined when it has none. */
export function toTsquery(q: string): string | undefined {
  const words = q.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu)?.slice(0, 12) ?? [];
  if (words.length === 0) return undefined;
  return words.map((w, i) => (i === words.length - 1 ? `${w}:*` : w)).join(' & ');
}

export async function searchOfferings(db: Db, query: SearchQuery, opts: { publisherAdmin: boolean }): Promise<OfferingList> {
  const limit = query.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new AppError('VALIDATION_FAILED', `limit must be 1 to ${MAX_LIMIT}`, { errors: [{ path: '/query/limit', message: `must be 1 to ${MAX_LIMIT}` }] });
  }
  let lifecycle: OfferingLifecycle | undefined = query.lifecycle;
  if (!opts.publisherAdmin) {
    if (lifecycle !== undefined && !PUBLICLY_LISTED.includes(lifecycle)) {
      throw new AppError('VALIDATION_FAILED', 'Only published offerings can be searched without the publisher-admin role', {
        errors: [{ path: '/query/lifecycle', message: 'must be published' }],
      });
    }
    lifecycle = 'published';
  }
  const tsquery = query.q === undefined ? undefined : toTsquery(query.q);
  if (query.q !== undefined && tsquery === undefined) return { items: [], nextCursor: null };
  const order: 'relevance' | 'newest' | 'name' = query.sort === 'name' ? 'name' : query.sort === 'newest' || !tsquery ? 'newest' : 'relevance';

  // What a cursor is bound to: every filter, the order and who is asking.
  const filters = {
    tsquery: tsquery ?? null,
    category: query.category ?? null,
    valueStream: query.valueStream ?? null,
    capability: query.capability ?? null,
    connector: query.connector ?? null,
    language: query.language ?? null,
    modality: query.modality ?? null,
    lifecycle: lifecycle ?? null,
    admin: opts.publisherAdmin,
  };

  // Ranking, the tsquery join and array containment are PostgreSQL full-text and array
  // operators: they stay SQL fragments inside the model query.
  const qb = OfferingModel.query(db).alias('o').select(OFFERING_COLUMNS.map((c) => `o.${c}`));
  if (tsquery) {
    qb.joinRaw(`cross join to_tsquery('english'::regconfig, ?) as tsq`, [tsquery]);
    qb.select(raw('ts_rank(o.search, tsq) as rank'));
    qb.whereRaw('o.search @@ tsq');
  }
  if (lifecycle) qb.where('o.lifecycle', lifecycle);
  if (query.category) qb.where('o.category', query.category);
  const contains = (column: string, value: string | undefined) => {
    if (value !== undefined) qb.whereRaw(`o.${column} @> array[?]::text[]`, [value]);
  };
  contains('value_streams', query.valueStream);
  contains('capabilities', query.capability);
  contains('connectors', query.connector);
  contains('languages', query.language);
  contains('modalities', query.modality);

  if (query.cursor !== undefined) {
    const typeOk = {
      relevance: (k: unknown) => typeof k === 'number' && Number.isFinite(k) && k >= 0,
      newest: isIsoTimestamp,
      name: (k: unknown) => typeof k === 'string' && k.length <= 500,
    }[order];
    const c = decodeCursor(query.cursor, order, filters, typeOk, OFFERING_ID);
    if (order === 'relevance') qb.whereRaw('(ts_rank(o.search, tsq), o.id) < (?::real, ?)', [c.k as number, c.id]);
    else if (order === 'newest') qb.whereRaw('(o.created_at, o.id) < (?::timestamptz, ?)', [c.k as string, c.id]);
    else qb.whereRaw('(o.name, o.id) > (?, ?)', [c.k as string, c.id]);
  }
  if (order === 'relevance') qb.orderByRaw('rank desc, o.id desc');
  else if (order === 'newest') qb.orderBy([{ column: 'o.created_at', order: 'desc' }, { column: 'o.id', order: 'desc' }]);
  else qb.orderBy([{ column: 'o.name', order: 'asc' }, { column: 'o.id', order: 'asc' }]);
  qb.limit(limit + 1);

  const rows = (await qb) as (OfferingRow & { rank?: number })[];
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > limit && last
      ? encodeCursor(
          {
            s: order,
            k: order === 'relevance' ? Number(last.rank) : order === 'newest' ? new Date(last.created_at).toISOString() : last.name,
            id: last.id,
          },
          filters,
        )
      : null;
  return { items: page.map(toOffering), nextCursor };
}
