/** Reading an org's audit log: filtered pages (newest first) and exports (oldest first). */
import type { Knex } from 'knex';
import { AppError } from '../platform/errors';
import { AUDIT_COLUMNS, toAuditEvent, type AuditEvent, type AuditRow } from './event';

export interface AuditFilter {
  orgId: string;
  projectId?: string;
  /** Exact action, or a prefix ending in `.` (`instance.`). */
  action?: string;
  resourceType?: string;
  /** The event's resource, or an event about it (its `data.instanceId` / `data.walletId`). */
  resourceId?: string;
  actorId?: string;
  /** created_at ≥ from */
  from?: string | Date;
  /** created_at < to */
  to?: string | Date;
}

function applyFilter(q: Knex.QueryBuilder, f: AuditFilter): Knex.QueryBuilder {
  q.where('org_id', f.orgId);
  if (f.projectId) q.where('project_id', f.projectId);
  if (f.action) {
    if (f.action.endsWith('.')) q.whereRaw('left(action, ?) = ?', [f.action.length, f.action]);
    else q.where('action', f.action);
  }
  if (f.resourceType) q.where('resource_type', f.resourceType);
  if (f.resourceId) {
    const id = f.resourceId;
    q.where((w) => w.where('resource_id', id).orWhere('instance_id', id).orWhere('wallet_id', id));
  }
  if (f.actorId) q.where('actor_id', f.actorId);
  if (f.from) q.where('created_at', '>=', new Date(f.from));
  if (f.to) q.where('created_at', '<', new Date(f.to));
  return q;
}

const encodeCursor = (seq: number) => Buffer.from(`s:${seq}`, 'utf8').toString('base64url');

function decodeCursor(cursor: string): number {
  const m = /^s:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new AppError('VALIDATION_FAILED', 'cursor is not a cursor of this list', { field: 'cursor' });
  return Number(m[1]);
}

/** A page of events, newest first; `nextCursor` continues below the last seq. */
export async function listAuditEvents(
  db: Knex,
  f: AuditFilter & { cursor?: string; limit?: number },
): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(f.limit ?? 50, 1), 200);
  const q = applyFilter(db('audit_events').select(db.raw(AUDIT_COLUMNS)), f);
  if (f.cursor) q.where('seq', '<', decodeCursor(f.cursor));
  const rows = (await q.orderBy('seq', 'desc').limit(limit + 1)) as AuditRow[];
  const page = rows.slice(0, limit);
  return { items: page.map(toAuditEvent), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1].seq) : null };
}

/** Every matching event, oldest first, read in pages of `pageSize` (keyset on seq). */
export async function* auditEventsAscending(db: Knex, f: AuditFilter, pageSize = 1000): AsyncGenerator<AuditEvent> {
  let after = 0;
  for (;;) {
    const rows = (await applyFilter(db('audit_events').select(db.raw(AUDIT_COLUMNS)), f)
      .where('seq', '>', after)
      .orderBy('seq', 'asc')
      .limit(pageSize)) as AuditRow[];
    for (const r of rows) yield toAuditEvent(r);
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1].seq;
  }
}

export const CSV_COLUMNS = ['id', 'seq', 'createdAt', 'orgId', 'projectId', 'action', 'resourceType', 'resourceId', 'actorType', 'actorId', 'requestId', 'data', 'prevHash', 'hash'] as const;

/** One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF; quotes doubled. */
export function csvField(value: unknown): string {
  const s = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(e: AuditEvent): string {
  const values: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    id: e.id,
    seq: e.seq,
    createdAt: e.createdAt,
    orgId: e.orgId,
    projectId: e.projectId,
    action: e.action,
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    actorType: e.actor.type,
    actorId: e.actor.id,
    requestId: e.requestId,
    data: JSON.stringify(e.data),
    prevHash: e.prevHash,
    hash: e.hash,
  };
  return CSV_COLUMNS.map((c) => csvField(values[c])).join(',');
}

export type ExportFormat = 'csv' | 'ndjson';

/**
 * The export file: CSV (header row, CRLF line ends as RFC 4180 says) or NDJSON (one AuditEvent
 * per line). Read from the database page by page; the HTTP contract answers a string body.
 */
export async function exportAuditEvents(db: Knex, f: AuditFilter, format: ExportFormat): Promise<string> {
  const parts: string[] = [];
  if (format === 'csv') {
    parts.push(CSV_COLUMNS.join(',') + '\r\n');
    for await (const e of auditEventsAscending(db, f)) parts.push(csvRow(e) + '\r\n');
  } else {
    for await (const e of auditEventsAscending(db, f)) parts.push(JSON.stringify(e) + '\n');
  }
  return parts.join('');
}
