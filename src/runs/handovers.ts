/**
 * Sessions handed over to a person (`human_handover`). A hand-over is recorded with the run that
 * asked for it, always in the transaction of that run's money:
 *
 *   authorize (hold)  → `pending`  — or, when the session already has a pending or open
 *                                     hand-over, that one (the run is then answered with the
 *                                     hand-over message, without the model)
 *   settle            → `open`     — delivered (the helpdesk's ticket ref, when there is one);
 *                                     event `session_handed_over`
 *   void              → `failed`   — delivery failed, the run is not charged; event
 *                                     `session_handover_failed` (a void that carries a ticket ref
 *                                     opens it instead: the ticket exists, the run just was not
 *                                     charged)
 *   release           → `released` — releaseInstanceSession; event `session_released`
 *
 * So there is never a ticket without a record: the record exists before the ticket is created,
 * and ends open or failed with the run.
 */
import type { Knex } from 'knex';
import { recordEvent, lockInstance } from '../instances/events';
import { enqueueNotification } from '../notifications/outbox';
import { newId } from '../platform/ids';
import { one, rows, type Db } from '../db/tx';
import { sessionHistory, type CallerKind, type RunOwner } from './records';

export type HandoverStatus = 'pending' | 'open' | 'failed' | 'released';

export interface HandoverRow {
  id: string;
  instance_id: string;
  caller_kind: string;
  caller_subject: string;
  session_id: string | null;
  run_id: string;
  provider: string;
  trigger: string;
  status: HandoverStatus;
  ticket_ref: string | null;
  created_at: Date;
  opened_at: Date | null;
  released_at: Date | null;
  released_by: string | null;
}

export interface HandoverView {
  handoverId: string;
  instanceId: string;
  sessionId: string | null;
  runId: string;
  provider: 'email' | 'webhook' | 'zendesk';
  trigger: 'user_request' | 'keyword';
  status: HandoverStatus;
  ticketRef: string | null;
  createdAt: string;
  openedAt: string | null;
  releasedAt: string | null;
  releasedBy: string | null;
}

export function handoverView(r: HandoverRow): HandoverView {
  return {
    handoverId: r.id,
    instanceId: r.instance_id,
    sessionId: r.session_id,
    runId: r.run_id,
    provider: r.provider as HandoverView['provider'],
    trigger: r.trigger as HandoverView['trigger'],
    status: r.status,
    ticketRef: r.ticket_ref,
    createdAt: r.created_at.toISOString(),
    openedAt: r.opened_at?.toISOString() ?? null,
    releasedAt: r.released_at?.toISOString() ?? null,
    releasedBy: r.released_by,
  };
}

const COLUMNS = 'id, instance_id, caller_kind, caller_subject, session_id, run_id, provider, trigger, status, ticket_ref, created_at, opened_at, released_at, released_by';

/** The session's pending or open hand-over, if any. */
export async function activeHandover(db: Db, key: { instanceId: string; owner: RunOwner; sessionId: string }): Promise<HandoverRow | undefined> {
  return one<HandoverRow>(
    db,
    `select ${COLUMNS} from session_handovers
      where instance_id = ? and caller_kind = ? and caller_subject = ? and session_id = ? and status in ('pending', 'open')`,
    [key.instanceId, key.owner.kind, key.owner.subject, key.sessionId],
  );
}

export async function handoverOfRun(db: Db, runId: string): Promise<HandoverRow | undefined> {
  return one<HandoverRow>(db, `select ${COLUMNS} from session_handovers where run_id = ?`, [runId]);
}

/**
 * At the run's authorize (the caller's transaction, under the wallet's lock): the session's
 * active hand-over, or — when the run asks for one and there is none — a new `pending` one.
 */
export async function handoverAtAdmission(
  trx: Knex.Transaction,
  run: { instanceId: string; owner: RunOwner; sessionId: string | null; runId: string; request?: { provider: string; trigger: string } },
  now: Date,
): Promise<HandoverRow | undefined> {
  if (run.sessionId) {
    const active = await activeHandover(trx, { instanceId: run.instanceId, owner: run.owner, sessionId: run.sessionId });
    // A pending hand-over whose run ended without settle or void (its hold expired) never delivered.
    const stale = active?.status === 'pending' && active.run_id !== run.runId && (await one<{ status: string }>(trx, 'select status from runs where id = ?', [active.run_id]))?.status !== 'running';
    if (active && stale) await finishHandover(trx, active.run_id, { delivered: false }, now);
    else if (active) return active;
  }
  if (!run.request) return undefined;
  const row: HandoverRow = {
    id: newId('hov'),
    instance_id: run.instanceId,
    caller_kind: run.owner.kind,
    caller_subject: run.owner.subject,
    session_id: run.sessionId,
    run_id: run.runId,
    provider: run.request.provider,
    trigger: run.request.trigger,
    status: 'pending',
    ticket_ref: null,
    created_at: now,
    opened_at: null,
    released_at: null,
    released_by: null,
  };
  await trx('session_handovers').insert(row);
  return row;
}

async function event(trx: Knex.Transaction, h: HandoverRow, type: 'session_handed_over' | 'session_handover_failed' | 'session_released', message: string, actor: string, now: Date) {
  const inst = await lockInstance<{ state: string }>(trx, h.instance_id);
  if (!inst) return;
  const state = inst.state as Parameters<typeof recordEvent>[2]['to'];
  await recordEvent(trx, h.instance_id, { type, from: state, to: state, message, actor }, now);
}

const sessionName = (h: HandoverRow) => (h.session_id ? `session ${h.session_id}` : 'a one-off run');
const where = (h: HandoverRow) => `${h.provider}${h.ticket_ref ? ` ticket ${h.ticket_ref}` : ''}`;

/**
 * With the run's settle or void (same transaction): the run's pending hand-over becomes open when
 * it was delivered (a settle, or a void that carries the ticket ref), failed otherwise.
 */
export async function finishHandover(trx: Knex.Transaction, runId: string, outcome: { delivered: boolean; handoverId?: string; ticketRef?: string }, now: Date): Promise<HandoverRow | undefined> {
  const h = await handoverOfRun(trx, runId);
  if (!h || h.status !== 'pending') return h;
  if (outcome.handoverId !== undefined && outcome.handoverId !== h.id) return h;
  if (outcome.delivered) {
    const [row] = await rows<HandoverRow>(trx, `update session_handovers set status = 'open', ticket_ref = ?, opened_at = ? where id = ? returning ${COLUMNS}`, [outcome.ticketRef ?? null, now, h.id]);
    await event(trx, row!, 'session_handed_over', `${sessionName(row!)} handed over (${where(row!)}) by run ${runId}`, 'system', now);
    if (row!.provider !== 'zendesk') await enqueueHandoverNotice(trx, row!, now);
    return row;
  }
  const [row] = await rows<HandoverRow>(trx, `update session_handovers set status = 'failed' where id = ? returning ${COLUMNS}`, [h.id]);
  await event(trx, row!, 'session_handover_failed', `${sessionName(row!)} could not be handed over (${h.provider}); run ${runId} was not charged`, 'system', now);
  return row;
}

/**
 * The `email` and `webhook` providers: the hand-over goes to the notification outbox
 * (src/notifications) in the transaction that opens it, so an open hand-over always has its
 * notice and a rolled-back one never does; the outbox's worker delivers it (an e-mail to the
 * configured address by SMTP, or a signed POST to the org's notification endpoint; retried,
 * dead-lettered). It carries the session's last `maxTranscriptTurns` turns — this run's request
 * included — unless `includeTranscript` is off.
 */
async function enqueueHandoverNotice(trx: Knex.Transaction, h: HandoverRow, now: Date): Promise<void> {
  const inst = await one<{ org_id: string; effective_config: Record<string, Record<string, unknown>> }>(trx, 'select org_id, effective_config from instances where id = ?', [h.instance_id]);
  const cfg = inst?.effective_config.human_handover ?? {};
  if (!inst || (h.provider === 'email' && typeof cfg.email !== 'string')) return;
  const turns = typeof cfg.maxTranscriptTurns === 'number' ? cfg.maxTranscriptTurns : 50;
  const owner = { kind: h.caller_kind as CallerKind, subject: h.caller_subject };
  const history = cfg.includeTranscript === false || !h.session_id ? [] : await sessionHistory(trx, { instanceId: h.instance_id, owner, sessionId: h.session_id }, turns);
  await enqueueNotification(trx, {
    orgId: inst.org_id,
    kind: 'session.handed_over',
    ...(h.provider === 'email' ? { channel: 'email' as const, recipients: [cfg.email as string] } : { channel: 'webhook' as const }),
    data: {
      instanceId: h.instance_id, sessionId: h.session_id, handoverId: h.id, runId: h.run_id, trigger: h.trigger,
      transcript: history.map((m) => `${m.role === 'user' ? 'Customer' : 'Assistant'}: ${m.content}`).join('\n'),
    },
    dedupeKey: `handover:${h.id}`,
    at: now,
  });
}

/** Releases every pending or open hand-over of the session id on the instance (any owner). */
export async function releaseSession(db: Knex, instanceId: string, sessionId: string, actor: string, now = new Date()): Promise<HandoverView[]> {
  return db.transaction(async (trx) => {
    await lockInstance(trx, instanceId);
    const released = await rows<HandoverRow>(
      trx,
      `update session_handovers set status = 'released', released_at = ?, released_by = ?
        where instance_id = ? and session_id = ? and status in ('pending', 'open')
        returning ${COLUMNS}`,
      [now, actor, instanceId, sessionId],
    );
    for (const h of released) await event(trx, h, 'session_released', `${sessionName(h)} released (${where(h)})`, actor, now);
    return released.map(handoverView);
  });
}

/** The active hand-overs of an owner's sessions (for the session list). */
export async function activeHandoversOf(db: Db, instanceId: string, owner: RunOwner, sessionIds: string[]): Promise<Map<string, HandoverView>> {
  if (!sessionIds.length) return new Map();
  const found = await rows<HandoverRow>(
    db,
    `select ${COLUMNS} from session_handovers
      where instance_id = ? and caller_kind = ? and caller_subject = ? and status in ('pending', 'open') and session_id in (${sessionIds.map(() => '?').join(', ')})`,
    [instanceId, owner.kind, owner.subject, ...sessionIds],
  );
  return new Map(found.map((h) => [h.session_id!, handoverView(h)]));
}
