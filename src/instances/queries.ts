import type { Knex } from 'knex';
import type { InstanceState } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';
import type { InstanceEventRow, InstanceRow } from './rows';
import { InstanceEventModel, InstanceModel } from './models';

const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function decode(cursor: string): { t: string; id: string } {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof c?.t === 'string' && typeof c?.id === 'string' && !Number.isNaN(Date.parse(c.t))) return c;
  } catch {
    /* fall through */
  }
  throw new AppError('VALIDATION_FAILED', 'cursor is not valid', { errors: [{ path: '/query/cursor', message: 'is not a cursor from this list' }] });
}

export interface ListFilter {
  /** The org/project ids the caller may see (already resolved). */
  orgIds?: string[];
  projectIds?: string[];
  offeringId?: string;
  state?: InstanceState;
  /** Only instances in requested/provisioning for longer than this many ms. */
  stuckAfterMs?: number;
  cursor?: string;
  limit: number;
  now?: Date;
}

/** Newest first, keyset-paginated. */
export async function listInstanceRows(db: Knex, f: ListFilter): Promise<{ rows: InstanceRow[]; nextCursor: string | null }> {
  const q = InstanceModel.query(db);
  if (f.orgIds) q.whereIn('org_id', f.orgIds);
  if (f.projectIds) q.whereIn('project_id', f.projectIds);
  if (f.offeringId) q.where('offering_id', f.offeringId);
  if (f.state) q.where('state', f.state);
  if (f.stuckAfterMs !== undefined) {
    const before = new Date((f.now ?? new Date()).getTime() - f.stuckAfterMs);
    q.whereIn('state', ['requested', 'provisioning']).whereRaw('coalesce(provisioning_since, created_at) < ?', [before]);
  }
  if (f.cursor) {
    const c = decode(f.cursor);
    q.whereRaw('(created_at, id) < (?::timestamptz, ?)', [c.t, c.id]);
  }
  const rows = (await q.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(f.limit + 1)) as InstanceRow[];
  const more = rows.length > f.limit;
  if (more) rows.pop();
  const last = rows[rows.length - 1];
  return { rows, nextCursor: more && last ? encode({ t: last.created_at.toISOString(), id: last.id }) : null };
}

export async function listEventRows(db: Knex, instanceId: string, cursor: string | undefined, limit: number): Promise<{ rows: InstanceEventRow[]; nextCursor: string | null }> {
  const q = InstanceEventModel.query(db).where({ instance_id: instanceId });
  if (cursor) {
    const seq = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Number.isInteger(seq)) throw new AppError('VALIDATION_FAILED', 'cursor is not valid', { errors: [{ path: '/query/cursor', message: 'is not a cursor from this list' }] });
    q.where('seq', '>', seq);
  }
  const rows = (await q.orderBy('seq', 'asc').limit(limit + 1)) as InstanceEventRow[];
  const more = rows.length > limit;
  if (more) rows.pop();
  const last = rows[rows.length - 1];
  return { rows, nextCursor: more && last ? Buffer.from(String(last.seq)).toString('base64url') : null };
}
