/**
 * Opaque keyset cursors: base64url JSON `{v:1, s:<order>, k:<last sort key>, id:<last id>, f:<query hash>}`.
 * The query hash binds a cursor to the filters it was made for, so a cursor replayed with other
 * filters (or edited by hand) is refused with 400 VALIDATION_FAILED instead of silently
 * returning a wrong page. Cursors are not secret — they only hold values the caller already saw.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../platform/errors';

export interface CursorPayload {
  /** The order the cursor belongs to. */
  s: string;
  /** The last row's sort key (string or number), `null` for id-only orders. */
  k: string | number | null;
  id: string;
}

export function queryHash(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 12);
}

export function encodeCursor(p: CursorPayload, filters: unknown): string {
  return Buffer.from(JSON.stringify({ v: 1, s: p.s, k: p.k, id: p.id, f: queryHash(filters) })).toString('base64url');
}

const invalid = (why: string) => new AppError('VALIDATION_FAILED', `Invalid cursor: ${why}`, { errors: [{ path: '/query/cursor', message: why }] });

/**
 * Decodes and checks a cursor for `order` and `filters`; `key` validates the sort key's type.
 * Anything off — not base64url JSON, wrong shape, other order, other filters — is 400.
 */
export function decodeCursor(
  cursor: string,
  order: string,
  filters: unknown,
  key: (k: unknown) => boolean,
  idPattern: RegExp,
): CursorPayload {
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) throw invalid('not a cursor from this API');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('not a cursor from this API');
  }
  const c = parsed as Record<string, unknown> | null;
  if (!c || typeof c !== 'object' || Array.isArray(c) || c.v !== 1 || Object.keys(c).length !== 5) throw invalid('not a cursor from this API');
  if (c.s !== order) throw invalid('it was made for another sort order');
  if (c.f !== queryHash(filters)) throw invalid('it was made for other filters');
  if (typeof c.id !== 'string' || !idPattern.test(c.id)) throw invalid('it has been altered');
  if (!key(c.k)) throw invalid('it has been altered');
  return { s: c.s as string, k: c.k as string | number | null, id: c.id };
}

export const isIsoTimestamp = (k: unknown): k is string =>
  typeof k === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(k) && !Number.isNaN(Date.parse(k));
