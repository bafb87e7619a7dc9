/**
 * Reading and erasing run history: an instance's runs, a caller's chat sessions and their
 * messages. Sessions are not a table of their own: a session is the runs of one instance, one
 * owner (user, API key, widget session) and one `session_id`; a turn is a run whose output is
 * kept. So a session can never be seen or extended by another caller (another owner's runs with
 * the same id are another session), and erasing it is clearing those runs' bodies.
 *
 * Who may read is decided by the caller (historyScope): members of the instance's project and
 * its API keys read every run of the instance, their own sessions only; the Gateway, for a widget
 * session, names the owner and reads that owner's runs only.
 */
import type { Knex } from 'knex';
import { decodeCursor, encodeCursor, isIsoTimestamp } from '../catalog/cursor';
import { isService } from '../platform/http/callers';
import { rows } from '../db/tx';
import { spokenAnswerKey, uploadKey } from '../media/keys';
import type { ObjectStore } from '../storage/object-store';
import { AppError } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';
import { activeHandoversOf, type HandoverView } from './handovers';
import { inputText, RUN_COLUMNS, runById, runView, type CallerKind, type RunOwner, type RunRecordView, type RunRow } from './records';

export interface HistoryScope {
  instanceId: string;
  /** The caller as a run owner (whose sessions are "own"). */
  owner: RunOwner;
  /** True when the caller may read every run of the instance (members, API keys). */
  wholeInstance: boolean;
}

const notFound = () => new AppError('NOT_FOUND', 'Run not found');

/** Parses the `owner` query parameter (`widget:<sessionId>`). */
function ownerParam(owner: string | undefined): RunOwner | undefined {
  const m = owner ? /^(widget):([A-Za-z0-9_-]{1,100})$/.exec(owner) : null;
  return m ? { kind: m[1] as CallerKind, subject: m[2]! } : undefined;
}

/**
 * The caller's reach on an instance's history (who may reach the instance at all was decided by
 * policy/ before the handler ran): the Gateway reads on behalf of a widget session and must name
 * it as `owner`; users and API keys read the whole instance.
 */
export async function historyScope(db: Knex, caller: Caller | undefined, instanceId: string, ownerQuery: string | undefined): Promise<HistoryScope> {
  if (isService(caller, 'gateway')) {
    const owner = ownerParam(ownerQuery);
    if (!owner) throw new AppError('VALIDATION_FAILED', 'The gateway reads history on behalf of a widget session: owner is required', { errors: [{ path: '/query/owner', message: 'is required for service callers' }] });
    const inst = await db('instances').select('id').where({ id: instanceId }).first();
    if (!inst) throw new AppError('NOT_FOUND', 'Instance not found');
    return { instanceId, owner, wholeInstance: false };
  }
  if (ownerQuery !== undefined) throw new AppError('FORBIDDEN', 'owner is for service callers only');
  const owner: RunOwner = caller!.kind === 'api_key' ? { kind: 'api_key', subject: caller!.keyId ?? caller!.subject } : { kind: 'user', subject: caller!.subject };
  return { instanceId, owner, wholeInstance: true };
}

export async function readRun(db: Knex, caller: Caller | undefined, runId: string, ownerQuery: string | undefined): Promise<RunRecordView> {
  const r = await runById(db, runId);
  if (!r) throw notFound();
  let scope: HistoryScope;
  try {
    scope = await historyScope(db, caller, r.instance_id, ownerQuery);
  } catch (err) {
    if (err instanceof AppError && (err.code === 'NOT_FOUND' || err.code === 'FORBIDDEN')) throw notFound();
    throw err;
  }
  if (!scope.wholeInstance && !isOwner(r, scope.owner)) throw notFound();
  return runView(r);
}

const isOwner = (r: RunRow, o: RunOwner) => r.caller_kind === o.kind && r.caller_subject === o.subject;

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const ID = /^run_[A-Za-z0-9]{8,40}$/;

export async function listRuns(db: Knex, scope: HistoryScope, q: { sessionId?: string; cursor?: string; limit?: number }): Promise<Page<RunRecordView>> {
  const limit = q.limit ?? 50;
  const filters = { i: scope.instanceId, s: q.sessionId ?? null, o: scope.wholeInstance && !q.sessionId ? null : `${scope.owner.kind}:${scope.owner.subject}` };
  const where: string[] = ['instance_id = ?'];
  const b: unknown[] = [scope.instanceId];
  if (filters.o) {
    where.push('caller_kind = ?', 'caller_subject = ?');
    b.push(scope.owner.kind, scope.owner.subject);
  }
  if (q.sessionId) {
    where.push('session_id = ?');
    b.push(q.sessionId);
  }
  if (q.cursor) {
    const c = decodeCursor(q.cursor, 'runs:started_desc', filters, isIsoTimestamp, ID);
    where.push('(started_at, id) < (?::timestamptz, ?)');
    b.push(c.k, c.id);
  }
  const found = await rows<RunRow>(db, `select ${RUN_COLUMNS} from runs where ${where.join(' and ')} order by started_at desc, id desc limit ?`, [...b, limit + 1] as never[]);
  const more = found.length > limit;
  const page = found.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(runView),
    nextCursor: more && last ? encodeCursor({ s: 'runs:started_desc', k: last.started_at.toISOString(), id: last.id }, filters) : null,
  };
}

export interface SessionSummary {
  sessionId: string;
  instanceId: string;
  createdAt: string;
  lastActiveAt: string;
  turns: number;
  /** Present while the session is handed over to a person. */
  handover?: HandoverView;
}

export async function listSessions(db: Knex, scope: HistoryScope, q: { cursor?: string; limit?: number }): Promise<Page<SessionSummary>> {
  const limit = q.limit ?? 50;
  const filters = { i: scope.instanceId, o: `${scope.owner.kind}:${scope.owner.subject}` };
  const b: unknown[] = [scope.instanceId, scope.owner.kind, scope.owner.subject];
  let having = '';
  if (q.cursor) {
    const c = decodeCursor(q.cursor, 'sessions:active_desc', filters, isIsoTimestamp, /^[A-Za-z0-9_-]{1,100}$/);
    having = 'having (max(coalesce(finished_at, started_at)), session_id) < (?::timestamptz, ?)';
    b.push(c.k, c.id);
  }
  const found = await rows<{ session_id: string; created_at: Date; last_active_at: Date; turns: number }>(
    db,
    `select session_id, min(started_at) as created_at, max(coalesce(finished_at, started_at)) as last_active_at,
            count(*) filter (where output is not null) as turns
       from runs where instance_id = ? and caller_kind = ? and caller_subject = ? and session_id is not null
      group by session_id ${having}
      order by last_active_at desc, session_id desc limit ?`,
    [...b, limit + 1] as never[],
  );
  const more = found.length > limit;
  const page = found.slice(0, limit);
  const last = page.at(-1);
  const handovers = await activeHandoversOf(db, scope.instanceId, scope.owner, page.map((s) => s.session_id));
  return {
    items: page.map((s) => {
      const handover = handovers.get(s.session_id);
      return { sessionId: s.session_id, instanceId: scope.instanceId, createdAt: s.created_at.toISOString(), lastActiveAt: s.last_active_at.toISOString(), turns: s.turns, ...(handover ? { handover } : {}) };
    }),
    nextCursor: more && last ? encodeCursor({ s: 'sessions:active_desc', k: last.last_active_at.toISOString(), id: last.session_id }, filters) : null,
  };
}

export interface SessionMessage {
  role: 'user' | 'assistant';
  content: string;
  runId: string;
  createdAt: string;
  creditsCharged: number;
}

/** The session's messages, oldest first; a page holds the messages of up to limit/2 runs. */
export async function listMessages(db: Knex, scope: HistoryScope, sessionId: string, q: { cursor?: string; limit?: number }): Promise<Page<SessionMessage>> {
  const runsPerPage = Math.max(1, Math.floor((q.limit ?? 50) / 2));
  const filters = { i: scope.instanceId, o: `${scope.owner.kind}:${scope.owner.subject}`, s: sessionId };
  const b: unknown[] = [scope.instanceId, scope.owner.kind, scope.owner.subject, sessionId];
  let after = '';
  if (q.cursor) {
    const c = decodeCursor(q.cursor, 'messages:started_asc', filters, isIsoTimestamp, ID);
    after = 'and (started_at, id) > (?::timestamptz, ?)';
    b.push(c.k, c.id);
  }
  const found = await rows<RunRow>(
    db,
    `select ${RUN_COLUMNS} from runs
      where instance_id = ? and caller_kind = ? and caller_subject = ? and session_id = ? and output is not null ${after}
      order by started_at asc, id asc limit ?`,
    [...b, runsPerPage + 1] as never[],
  );
  const more = found.length > runsPerPage;
  const page = found.slice(0, runsPerPage);
  const items: SessionMessage[] = [];
  for (const r of page) {
    const text = inputText(r.input);
    if (text) items.push({ role: 'user', content: text, runId: r.id, createdAt: r.started_at.toISOString(), creditsCharged: r.credits_charged });
    items.push({ role: 'assistant', content: String(r.output?.text ?? ''), runId: r.id, createdAt: (r.finished_at ?? r.started_at).toISOString(), creditsCharged: r.credits_charged });
  }
  const last = page.at(-1);
  return { items, nextCursor: more && last ? encodeCursor({ s: 'messages:started_asc', k: last.started_at.toISOString(), id: last.id }, filters) : null };
}

/** What erasing a run's bodies needs: its record's owner and the file references in its input and output. */
interface BodiesRow {
  id: string;
  instance_id: string;
  caller_kind: string;
  caller_subject: string;
  parts: unknown;
  audio_format: string | null;
}

const BODIES_COLUMNS = `id, instance_id, caller_kind, caller_subject, input -> 'parts' as parts, output -> 'audio' ->> 'format' as audio_format`;

/** The run's files in object storage: the attachments its input names and its spoken answer. */
function runObjectKeys(r: BodiesRow): string[] {
  const keys: string[] = [];
  if (Array.isArray(r.parts)) {
    for (const p of r.parts as { uploadId?: unknown }[]) if (typeof p?.uploadId === 'string') keys.push(uploadKey(r.instance_id, { kind: r.caller_kind, subject: r.caller_subject }, p.uploadId));
  }
  if (r.audio_format) keys.push(spokenAnswerKey(r.instance_id, r.id, r.audio_format));
  return keys;
}

/**
 * Deletes the files of `runs`, then their bodies (`where` guards what may have changed since
 * they were read). A run whose files could not all be deleted keeps its bodies, so a later
 * sweep (or erasure) tries again; the first such failure is thrown after the others are erased.
 * Answers how many runs were erased.
 */
async function eraseBodies(db: Knex, store: ObjectStore | undefined, runs: BodiesRow[], where: { sql: string; bindings: Knex.RawBinding[] }): Promise<number> {
  const erasable: string[] = [];
  let failure: unknown;
  for (const r of runs) {
    const deleted = await Promise.allSettled(runObjectKeys(r).map((k) => {
      if (!store) throw new Error('no object store to delete the run\'s files from');
      return store.delete(k);
    }));
    const failed = deleted.find((d): d is PromiseRejectedResult => d.status === 'rejected');
    if (failed) failure ??= failed.reason;
    else erasable.push(r.id);
  }
  const n = erasable.length
    ? (await rows<{ id: string }>(db, `update runs set input = null, output = null, session_id = null, bodies_expire_at = null where id = any(?) and ${where.sql} returning id`, [erasable, ...where.bindings])).length
    : 0;
  if (failure) throw failure;
  return n;
}

/**
 * Right to erase: the input and output of the owner's runs in this session — and their files
 * (attachments, spoken answers) — are deleted and the runs leave the session (their money facts
 * stay). Answers how many runs were erased.
 */
export async function eraseSession(db: Knex, scope: HistoryScope, sessionId: string, store?: ObjectStore): Promise<number> {
  const runs = await rows<BodiesRow>(
    db,
    `select ${BODIES_COLUMNS} from runs where instance_id = ? and caller_kind = ? and caller_subject = ? and session_id = ?`,
    [scope.instanceId, scope.owner.kind, scope.owner.subject, sessionId],
  );
  return eraseBodies(db, store, runs, { sql: 'session_id = ?', bindings: [sessionId] });
}

/**
 * Retention: the bodies (input, output) of runs past `bodies_expire_at` — and their files — are
 * deleted and the runs leave their session; the run records and their money facts stay. In
 * batches; answers how many.
 */
export async function purgeExpiredRunBodies(db: Knex, opts: { now?: Date; batchSize?: number; objectStore?: ObjectStore } = {}): Promise<number> {
  const now = opts.now ?? new Date();
  const batch = opts.batchSize ?? 1000;
  let total = 0;
  for (;;) {
    const due = await rows<BodiesRow>(db, `select ${BODIES_COLUMNS} from runs where bodies_expire_at <= ? and status <> 'running' order by bodies_expire_at limit ?`, [now, batch]);
    total += await eraseBodies(db, opts.objectStore, due, { sql: 'bodies_expire_at <= ?', bindings: [now] });
    if (due.length < batch) break;
  }
  // Daily run counters older than two days are not needed any more.
  await db.raw(`delete from instance_run_days where day < (?::timestamptz at time zone 'UTC')::date - 2`, [now]);
  return total;
}
