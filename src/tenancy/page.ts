/** Keyset pagination over time-ordered ids: the cursor is the last id seen, base64url-wrapped. */
import { AppError } from '../platform/errors';

export interface PageRequest {
  cursor?: string | null;
  limit?: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;

export function pageArgs(req: PageRequest = {}): { after: string | null; limit: number } {
  const limit = req.limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new AppError('VALIDATION_FAILED', `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
  }
  if (req.cursor === undefined || req.cursor === null || req.cursor === '') return { after: null, limit };
  const after = Buffer.from(req.cursor, 'base64url').toString('utf8');
  if (!/^[A-Za-z0-9_.@:-]{1,200}$/.test(after)) throw new AppError('VALIDATION_FAILED', 'cursor is not valid');
  return { after, limit };
}

/** `rows` were fetched with `limit + 1`; `key` gives each row's cursor value. */
export function toPage<R, T>(rows: R[], limit: number, key: (row: R) => string, view: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return {
    items: kept.map(view),
    nextCursor: more ? Buffer.from(key(kept[kept.length - 1]!), 'utf8').toString('base64url') : null,
  };
}
