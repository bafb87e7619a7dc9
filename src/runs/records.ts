/**
 * Run records: the `runs` rows, their API shape, and the answer a finished run replays.
 *
 * A run row is inserted by `authorizeRun` (with its hold) and finished by `settleRun` /
 * `voidRun` (with its charge or release) — see src/money/runs.ts — always under the wallet's
 * lock and in the same transaction as the money it records. The writers here are plain row
 * writes (one statement each) so a batched settle can append them beside its ledger rows.
 */
import type { Knex } from 'knex';
import type { Db } from '../db/tx';
import { rows } from '../db/tx';
import type { ErrorCode } from '../platform/errors';

export type CallerKind = 'user' | 'api_key' | 'widget' | 'trigger';
/** What started a run: a request to the gateway (`api`), or a schedule / webhook trigger. */
export type TriggerKind = 'api' | 'schedule' | 'webhook';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'expired' | 'rejected';
export type FinishedStatus = Exclude<RunStatus, 'running' | 'expired' | 'rejected'>;

export interface RunRow {
  id: string;
  instance_id: string;
  org_id: string;
  project_id: string;
  wallet_id: string;
  caller_kind: CallerKind;
  caller_subject: string;
  trigger_kind: TriggerKind;
  trigger_id: string | null;
  session_id: string | null;
  attempt_id: string;
  request_hash: string | null;
  status: RunStatus;
  reservation_id: string | null;
  ledger_entry_id: string | null;
  credits_charged: number;
  overage: boolean;
  /** The wallet right after the settle, as the run's answer said. */
  balance_after: number | null;
  available_after: number | null;
  low_balance: boolean | null;
  usage: Record<string, number> | null;
  error_status: number | null;
  error_code: ErrorCode | null;
  error_message: string | null;
  error_details: Record<string, unknown> | null;
  input: Record<string, unknown> | null;
  output: { text: string; [k: string]: unknown } | null;
  bodies_expire_at: Date | null;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
}

export const RUN_COLUMNS =
  'id, instance_id, org_id, project_id, wallet_id, caller_kind, caller_subject, trigger_kind, trigger_id, session_id, attempt_id, request_hash, status, ' +
  'reservation_id, ledger_entry_id, credits_charged, overage, balance_after, available_after, low_balance, usage, error_status, error_code, error_message, error_details, ' +
  'input, output, bodies_expire_at, started_at, finished_at, duration_ms';

/** Who a run (and its session) belongs to. */
export interface RunOwner {
  kind: CallerKind;
  subject: string;
}

/** How a run ended, as the gateway reports it with the settle or void. */
export interface RunFinish {
  status: FinishedStatus;
  output?: { text: string; [k: string]: unknown };
  durationMs?: number;
  /** The hand-over the run requested (src/runs/handovers.ts), as delivered. */
  handover?: { handoverId: string; ticketRef?: string };
  error?: { status: number; code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** The API shape of a run record (control plane and gateway share it). */
export interface RunRecordView {
  runId: string;
  instanceId: string;
  sessionId: string | null;
  callerKind: CallerKind;
  trigger: { kind: TriggerKind; id: string | null };
  status: RunStatus;
  output?: { text: string; [k: string]: unknown };
  usage?: { dimensions: Record<string, number> };
  billing?: { reservationId: string; ledgerEntryId: string | null; creditsCharged: number; overage: boolean; balance: number; available: number; lowBalance: boolean };
  error?: { code: ErrorCode; message: string };
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
}

export function runView(r: RunRow): RunRecordView {
  const v: RunRecordView = {
    runId: r.id,
    instanceId: r.instance_id,
    sessionId: r.session_id,
    callerKind: r.caller_kind,
    trigger: { kind: r.trigger_kind ?? 'api', id: r.trigger_id ?? null },
    status: r.status,
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at ? r.finished_at.toISOString() : null,
    durationMs: r.duration_ms,
  };
  if (r.output) v.output = r.output;
  if (r.usage) v.usage = { dimensions: r.usage };
  if (r.reservation_id && r.balance_after !== null) {
    v.billing = {
      reservationId: r.reservation_id, ledgerEntryId: r.ledger_entry_id, creditsCharged: r.credits_charged, overage: r.overage,
      balance: r.balance_after, available: r.available_after ?? 0, lowBalance: r.low_balance ?? false,
    };
  }
  if (r.error_code) v.error = { code: r.error_code, message: r.error_message ?? '' };
  return v;
}

/**
 * The first answer of a finished run, rebuilt from its row, for Idempotency-Key replays: the
 * RunResult of a succeeded run, the canonical error of a failed one. Undefined when the answer
 * can no longer be given (the bodies were erased by retention or by the buyer).
 */
export function replayOf(r: RunRow, wallet: { balance: number; available: number; lowBalance: boolean }): { status: number; body: Record<string, unknown> } | undefined {
  if (r.status === 'succeeded') {
    if (!r.output) return undefined;
    return {
      status: 200,
      body: {
        runId: r.id,
        instanceId: r.instance_id,
        sessionId: r.session_id,
        status: 'succeeded',
        output: r.output,
        usage: { dimensions: r.usage ?? {} },
        billing: {
          reservationId: r.reservation_id,
          ledgerEntryId: r.ledger_entry_id,
          creditsCharged: r.credits_charged,
          overage: r.overage,
          balance: r.balance_after ?? wallet.balance,
          available: r.available_after ?? wallet.available,
          lowBalance: r.low_balance ?? wallet.lowBalance,
        },
        durationMs: r.duration_ms ?? 0,
        createdAt: r.started_at.toISOString(),
      },
    };
  }
  if (r.error_code && r.error_status) {
    return { status: r.error_status, body: { code: r.error_code, message: r.error_message ?? '', ...(r.error_details ? { details: r.error_details } : {}) } };
  }
  if (r.status === 'expired') {
    return {
      status: 503,
      body: { code: 'CONTROL_PLANE_UNAVAILABLE', message: 'The run was interrupted before it reported back; it was not charged', details: { runId: r.id, reservationId: r.reservation_id, charged: false } },
    };
  }
  return undefined;
}

export type NewRunRow = Omit<RunRow, 'trigger_kind' | 'trigger_id' | 'ledger_entry_id' | 'credits_charged' | 'overage' | 'balance_after' | 'available_after' | 'low_balance' | 'usage' | 'output' | 'finished_at' | 'duration_ms' | 'error_status' | 'error_code' | 'error_message' | 'error_details'> & Partial<RunRow>;

export async function insertRun(db: Db, r: NewRunRow): Promise<void> {
  // An earlier `rejected` row of the same run (refused, nothing reserved) is replaced: the run is
  // admitted anew with the same id (a client retrying with its Idempotency-Key after a top-up).
  await db.raw(
    `insert into runs (id, instance_id, org_id, project_id, wallet_id, caller_kind, caller_subject, trigger_kind, trigger_id, session_id, attempt_id, request_hash,
                       status, reservation_id, credits_charged, error_status, error_code, error_message, error_details, input,
                       bodies_expire_at, started_at, finished_at, duration_ms)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?, ?, ?)
     on conflict (id) do update set
       attempt_id = excluded.attempt_id, request_hash = excluded.request_hash, status = excluded.status,
       reservation_id = excluded.reservation_id, error_status = excluded.error_status, error_code = excluded.error_code,
       error_message = excluded.error_message, error_details = excluded.error_details, input = excluded.input,
       session_id = excluded.session_id, bodies_expire_at = excluded.bodies_expire_at, started_at = excluded.started_at,
       finished_at = excluded.finished_at, duration_ms = excluded.duration_ms
     where runs.status = 'rejected'`,
    [
      r.id, r.instance_id, r.org_id, r.project_id, r.wallet_id, r.caller_kind, r.caller_subject, r.trigger_kind ?? 'api', r.trigger_id ?? null, r.session_id, r.attempt_id, r.request_hash,
      r.status, r.reservation_id, r.error_status ?? null, r.error_code ?? null, r.error_message ?? null,
      r.error_details ? JSON.stringify(r.error_details) : null, r.input ? JSON.stringify(r.input) : null,
      r.bodies_expire_at, r.started_at, r.finished_at ?? null, r.duration_ms ?? null,
    ],
  );
}

/** Finishes a running run (no-op when it already finished: settles and voids replay). */
export async function finishRun(
  db: Db,
  runId: string,
  f: RunFinish & { at: Date; usage?: Record<string, number> | null; creditsCharged?: number; ledgerEntryId?: string | null; overage?: boolean; wallet?: { balance: number; available: number; lowBalance: boolean }; keepBodies: boolean },
): Promise<void> {
  await db.raw(
    `update runs set status = ?, output = ?::jsonb, usage = ?::jsonb, credits_charged = ?, ledger_entry_id = ?, overage = ?,
            balance_after = ?, available_after = ?, low_balance = ?,
            error_status = ?, error_code = ?, error_message = ?, error_details = ?::jsonb, finished_at = ?,
            duration_ms = coalesce(?, (extract(epoch from (?::timestamptz - started_at)) * 1000)::integer),
            input = case when ? then input else null end
      where id = ? and status = 'running'`,
    [
      f.status, f.output && f.keepBodies ? JSON.stringify(f.output) : null, f.usage ? JSON.stringify(f.usage) : null, f.creditsCharged ?? 0,
      f.ledgerEntryId ?? null, f.overage ?? false, f.wallet?.balance ?? null, f.wallet?.available ?? null, f.wallet?.lowBalance ?? null, f.error?.status ?? null, f.error?.code ?? null, f.error?.message.slice(0, 1000) ?? null,
      f.error?.details ? JSON.stringify(f.error.details) : null, f.at, f.durationMs ?? null, f.at, f.keepBodies, runId,
    ],
  );
}

export type FinishedRunFacts = RunFinish & {
  at: Date;
  usage: Record<string, number>;
  creditsCharged: number;
  ledgerEntryId: string;
  overage: boolean;
  wallet: { balance: number; available: number; lowBalance: boolean };
  keepBodies: boolean;
};

/**
 * Records runs that are admitted and finished in one statement (quota runs' charges: there was
 * never a `running` row): the rows `insertRun` then `finishRun` would leave. Answers the ids
 * written; a run whose row exists already is left as it is and not in the answer.
 */
export async function insertFinishedRuns(db: Db, runs: readonly { row: NewRunRow; finish: FinishedRunFacts }[]): Promise<Set<string>> {
  if (runs.length === 0) return new Set();
  const b: Knex.RawBinding[] = [];
  for (const { row: r, finish: f } of runs) {
    const started = r.started_at;
    b.push(
      r.id, r.instance_id, r.org_id, r.project_id, r.wallet_id, r.caller_kind, r.caller_subject, r.trigger_kind ?? 'api', r.trigger_id ?? null, r.session_id, r.attempt_id, r.request_hash,
      f.status, r.reservation_id, f.creditsCharged, f.ledgerEntryId, f.overage, f.wallet.balance, f.wallet.available, f.wallet.lowBalance,
      JSON.stringify(f.usage), f.output && f.keepBodies ? JSON.stringify(f.output) : null,
      f.error?.status ?? null, f.error?.code ?? null, f.error?.message.slice(0, 1000) ?? null, f.error?.details ? JSON.stringify(f.error.details) : null,
      r.input && f.keepBodies ? JSON.stringify(r.input) : null,
      r.bodies_expire_at, started, f.at, f.durationMs ?? Math.max(0, Math.round(f.at.getTime() - started.getTime())),
    );
  }
  const tuple = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?, ?, ?)`;
  const inserted = await rows<{ id: string }>(
    db,
    `insert into runs (id, instance_id, org_id, project_id, wallet_id, caller_kind, caller_subject, trigger_kind, trigger_id, session_id, attempt_id, request_hash,
                       status, reservation_id, credits_charged, ledger_entry_id, overage, balance_after, available_after, low_balance, usage, output,
                       error_status, error_code, error_message, error_details, input, bodies_expire_at, started_at, finished_at, duration_ms)
     values ${runs.map(() => tuple).join(', ')}
     on conflict (id) do nothing
     returning id`,
    b,
  );
  return new Set(inserted.map((r) => r.id));
}

/** Marks the runs whose holds just expired (the gateway never reported back). */
export async function expireRunsOf(db: Db, reservationIds: readonly string[], at: Date): Promise<void> {
  if (reservationIds.length === 0) return;
  await db.raw(
    `update runs set status = 'expired', finished_at = ?, duration_ms = (extract(epoch from (?::timestamptz - started_at)) * 1000)::integer
      where reservation_id = any(?) and status = 'running'`,
    [at, at, [...reservationIds]],
  );
}

export async function runById(db: Db, runId: string, forUpdate = false): Promise<RunRow | undefined> {
  const [r] = await rows<RunRow>(db, `select ${RUN_COLUMNS} from runs where id = ?${forUpdate ? ' for update' : ''}`, [runId]);
  return r;
}

/** The last `turns` answered turns of a session, oldest first, as chat messages. */
export async function sessionHistory(db: Db, key: { instanceId: string; owner: RunOwner; sessionId: string }, turns: number): Promise<{ role: 'user' | 'assistant'; content: string }[]> {
  if (turns <= 0) return [];
  const last = await rows<{ input: Record<string, unknown> | null; output: { text?: unknown } | null }>(
    db,
    `select input, output from runs
      where instance_id = ? and caller_kind = ? and caller_subject = ? and session_id = ? and output is not null
      order by started_at desc, id desc limit ?`,
    [key.instanceId, key.owner.kind, key.owner.subject, key.sessionId, turns],
  );
  const out: { role: 'user' | 'assistant'; content: string }[] = [];
  for (const r of last.reverse()) {
    const text = inputText(r.input);
    if (text) out.push({ role: 'user', content: text });
    out.push({ role: 'assistant', content: String(r.output?.text ?? '') });
  }
  return out;
}

/** The user's text of a stored run input (`text`, or `message.content`). */
export function inputText(input: Record<string, unknown> | null): string {
  if (!input) return '';
  if (typeof input.text === 'string') return input.text;
  const m = input.message as { content?: unknown } | undefined;
  return typeof m?.content === 'string' ? m.content : '';
}
