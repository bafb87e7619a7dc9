/**
 * The money use cases of a run: `authorizeRun`, `settleRun`, `voidRun`. Each owns its
 * transaction (bounded: bounds.ts), the rule, the metering, the run record and the audit event,
 * and returns what the API answers; the billing handlers only map request ↔ use case ↔ response.
 *
 * Each runs on its wallet's batcher (wallet-batch.ts): concurrent runs of one wallet share a
 * transaction, one after the other, with the same answers as alone.
 *
 * authorizeRun, under the wallet's lock, in one transaction:
 *   the run record decides first — it is the run's idempotency record:
 *     same runId, other request hash  → 409 IDEMPOTENCY_PAYLOAD_MISMATCH
 *     still running, same attempt     → the reservation again (a retry after an unknown outcome)
 *     still running, another attempt  → 409 IDEMPOTENCY_IN_PROGRESS
 *     finished                        → its first answer (replay); a new input never runs
 *   then the limits: maxRunsPerDay (UTC day) → 429 DAILY_RUN_LIMIT_EXCEEDED; the hold
 *   (run-limits.ts) → 403 INSUFFICIENT_CREDITS. A refused run is recorded as `rejected` (and
 *   committed); an admitted one holds its credits and is recorded `running`, with the last
 *   `historyTurns` turns of its session read for the runtime.
 * settleRun / voidRun: the charge (never more than the hold) or the release, and the run record
 * finished in the same transaction — history and money never disagree.
 */
import { suspendDepletedWallet, suspendForCredits } from './depletion';
import { lowBalanceSettings, noticeLowBalance } from './low-balance-notice';
import type { Knex } from 'knex';
import type { AuditActor } from '../audit';
import { meterCapabilities } from './metering';
import { one, type Db } from '../db/tx';
import { AppError, notFound } from '../platform/errors';
import { expireRunsOf, finishRun, insertRun, replayOf, runById, sessionHistory, type CallerKind, type RunFinish, type RunRow, type RunStatus } from '../runs/records';
import { authorizeOp, executeBatch, getReservation, RESERVATION_COLUMNS, reservationView, settleOp, voidOp, type ReservationRow, type AuthorizeResult, type SettleResult, type VoidResult } from './billing';
import type { MoneyBounds } from './bounds';
import { holdFor, admissionFloor, runLimitsOf, type RunLimits } from './run-limits';
import { nowOf, type MoneyDeps, type ReservationView, type WalletView } from './types';
import { walletBatcher, type WalletBatcher } from './wallet-batch';
import { expireOverdueLocked, getWallet, lockWallet } from './wallets';

export interface RunUseCaseDeps {
  money?: MoneyDeps;
  bounds?: MoneyBounds;
  /** For the audit event. */
  actor?: AuditActor;
  requestId?: string;
  /** Where the transaction runs (default: the process's per-wallet batcher, wallet-batch.ts). */
  batcher?: WalletBatcher;
}

export interface AuthorizeRunInput {
  instanceId: string;
  walletId?: string;
  runId: string;
  ttlSeconds?: number;
  run: {
    attemptId: string;
    callerKind: CallerKind;
    callerSubject: string;
    /** The schedule or webhook trigger that started the run (caller kind `trigger`). */
    trigger?: { kind: 'schedule' | 'webhook'; id: string };
    sessionId?: string;
    requestHash?: string;
    input?: Record<string, unknown>;
  };
}

export type AuthorizeRunResult =
  | {
      kind: 'admitted';
      reservation: ReservationView;
      balance: number;
      available: number;
      /** The same attempt authorized before (a retry): the reservation it got then. */
      replayed: boolean;
      history: { role: 'user' | 'assistant'; content: string }[];
      limits: RunLimits;
    }
  | { kind: 'replay'; reservation: ReservationView | null; status: RunStatus; replay: { status: number; body: Record<string, unknown> } };

interface InstanceForRun {
  id: string;
  state: string;
  offering_lifecycle: string;
  wallet_id: string;
  org_id: string;
  project_id: string;
  plan_id: string;
  effective_config: Record<string, Record<string, unknown>>;
  plans: { id: string; limits?: { maxRunsPerDay?: number; maxConcurrentRuns?: number } }[];
}

const utcDay = (d: Date) => d.toISOString().slice(0, 10);
const nextUtcMidnight = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1));

export async function authorizeRun(db: Knex, input: AuthorizeRunInput, deps: RunUseCaseDeps = {}): Promise<AuthorizeRunResult> {
  // Immutable or slowly changing facts, read without any lock.
  const inst = await one<InstanceForRun>(
    db,
    `select i.id, i.state, i.wallet_id, i.org_id, i.project_id, i.plan_id, i.effective_config, v.plans, o.lifecycle as offering_lifecycle
       from instances i join offering_versions v on v.id = i.version_id join offerings o on o.id = i.offering_id where i.id = ?`,
    [input.instanceId],
  );
  if (!inst) throw new AppError('NOT_FOUND', 'Instance not found');
  // End of life stops an offering's instances: no run is admitted, whatever a gateway cached.
  if (inst.offering_lifecycle === 'eol') throw new AppError('OFFERING_EOL', 'The offering has reached its end of life; its instances no longer run', { instanceId: inst.id });
  if (inst.state !== 'active') throw new AppError('NOT_ENTITLED', `The instance is ${inst.state}; runs need an active instance`, { instanceId: inst.id, state: inst.state });
  if (input.walletId !== undefined && input.walletId !== inst.wallet_id) {
    throw new AppError('UNPROCESSABLE', 'walletId is not the wallet that pays for this instance', { instanceId: inst.id });
  }
  const limits = runLimitsOf(inst.effective_config, inst.plans.find((p) => p.id === inst.plan_id));
  const run = input.run;
  const owner = { kind: run.callerKind, subject: run.callerSubject };

  const outcome = await (deps.batcher ?? walletBatcher).run(db, inst.wallet_id, deps.bounds ?? {}, async (trx) => {
    const now = nowOf(deps.money);
    const w = await lockWallet(trx, inst.wallet_id);
    // Under the wallet's lock: every write to this wallet's run rows happens under it too.
    const existing = await runById(trx, input.runId);
    if (existing && existing.status !== 'rejected') return { kind: 'existing' as const, row: existing, wallet: w };

    const base = {
      id: input.runId,
      instance_id: inst.id,
      org_id: inst.org_id,
      project_id: inst.project_id,
      wallet_id: inst.wallet_id,
      caller_kind: owner.kind,
      caller_subject: owner.subject,
      trigger_kind: run.trigger?.kind ?? ('api' as const),
      trigger_id: run.trigger?.id ?? null,
      session_id: run.sessionId ?? null,
      attempt_id: run.attemptId,
      request_hash: run.requestHash ?? null,
      input: run.input ?? null,
      bodies_expire_at: new Date(now.getTime() + limits.retentionDays * 86_400_000),
      started_at: now,
    };
    const reject = async (err: AppError) => {
      await insertRun(trx, { ...base, status: 'rejected', reservation_id: null, error_status: err.status, error_code: err.code, error_message: err.message, error_details: err.details ?? null, finished_at: now, duration_ms: 0 });
      return { kind: 'rejected' as const, error: err };
    };

    if (limits.maxRunsPerDay !== undefined) {
      const today = await one<{ runs: number }>(trx, `select runs from instance_run_days where instance_id = ? and day = ?`, [inst.id, utcDay(now)]);
      if ((today?.runs ?? 0) >= limits.maxRunsPerDay) {
        const resetsAt = nextUtcMidnight(now);
        const retryAfterSeconds = Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
        return reject(new AppError('DAILY_RUN_LIMIT_EXCEEDED', `This instance reached its plan's ${limits.maxRunsPerDay} runs per day`, {
          instanceId: inst.id, maxRunsPerDay: limits.maxRunsPerDay, runsToday: today?.runs ?? 0, resetsAt: resetsAt.toISOString(), retryAfterSeconds,
        }, { headers: { 'Retry-After': String(retryAfterSeconds) } }));
      }
    }

    let balance = w.balance;
    let available = w.balance - w.reserved;
    if (available < limits.maxCreditsPerRun) {
      // Overdue holds still count until released: release them where they change the answer.
      const swept = await expireOverdueLocked(trx, inst.wallet_id, now);
      if (swept.wallet) {
        balance = swept.wallet.balance;
        available = swept.wallet.balance - swept.wallet.reserved;
      }
    }
    const hold = holdFor(limits, available);
    if (hold === undefined) {
      // An empty wallet under `suspend` takes the instance off the gateway until a credit comes in.
      const suspended = limits.depletionPolicy === 'suspend' && balance === 0 && (await suspendForCredits(trx, inst.id, inst.wallet_id, now));
      return reject(new AppError('INSUFFICIENT_CREDITS', 'Not enough credits available for this run', {
        instanceId: inst.id, walletId: inst.wallet_id, balance, available: Math.max(0, available), requiredBudget: admissionFloor(limits),
        maxCreditsPerRun: limits.maxCreditsPerRun, estimatedBudgetPerRun: limits.estimatedBudgetPerRun, depletionPolicy: limits.depletionPolicy,
        ...(suspended ? { suspended: true } : {}),
      }));
    }
    const [o] = await executeBatch(trx, [authorizeOp({ walletId: inst.wallet_id, instanceId: inst.id, runId: input.runId, amount: hold, ttlSeconds: input.ttlSeconds })], { deps: deps.money, eventsDb: db, now });
    if (!o!.ok) throw o!.error;
    const a = o!.value as AuthorizeResult;
    await insertRun(trx, { ...base, status: 'running', reservation_id: a.reservation.id });
    if (limits.maxRunsPerDay !== undefined) {
      await trx.raw(
        `insert into instance_run_days (instance_id, day, runs) values (?, ?, 1)
         on conflict (instance_id, day) do update set runs = instance_run_days.runs + 1`,
        [inst.id, utcDay(now)],
      );
    }
    const history = run.sessionId ? await sessionHistory(trx, { instanceId: inst.id, owner, sessionId: run.sessionId }, limits.historyTurns) : [];
    return { kind: 'admitted' as const, result: a, history };
  });

  if (outcome.kind === 'rejected') throw outcome.error;
  if (outcome.kind === 'admitted') {
    return { kind: 'admitted', reservation: outcome.result.reservation, balance: outcome.result.balance, available: outcome.result.available, replayed: false, history: outcome.history, limits };
  }
  return existingRun(db, outcome.row, outcome.wallet, input, limits, owner);
}

/** A run that already has a record: replay it, or say why not. */
async function existingRun(db: Db, row: RunRow, w: { balance: number; reserved: number; low_balance_threshold: number | null }, input: AuthorizeRunInput, limits: RunLimits, owner: { kind: CallerKind; subject: string }): Promise<AuthorizeRunResult> {
  const run = input.run;
  if (row.caller_kind !== owner.kind || row.caller_subject !== owner.subject || row.instance_id !== input.instanceId) {
    throw new AppError('CONFLICT', 'This run id belongs to another run', { runId: row.id });
  }
  if ((row.request_hash ?? null) !== (run.requestHash ?? null)) {
    throw new AppError('IDEMPOTENCY_PAYLOAD_MISMATCH', 'This Idempotency-Key was used with a different request', { runId: row.id });
  }
  const reservation = row.reservation_id ? await getReservation(db, row.reservation_id) : null;
  if (row.status === 'running') {
    if (row.attempt_id !== run.attemptId || !reservation) {
      throw new AppError('IDEMPOTENCY_IN_PROGRESS', 'A run with this Idempotency-Key is in progress', { runId: row.id });
    }
    const history = row.session_id ? await sessionHistory(db, { instanceId: row.instance_id, owner, sessionId: row.session_id }, limits.historyTurns) : [];
    const available = Math.max(0, w.balance - w.reserved);
    return { kind: 'admitted', reservation, balance: w.balance, available, replayed: true, history, limits };
  }
  const replay = replayOf(row, { balance: w.balance, available: Math.max(0, w.balance - w.reserved), lowBalance: w.low_balance_threshold !== null && w.balance < w.low_balance_threshold });
  if (!replay) {
    throw new AppError('CONFLICT', 'This Idempotency-Key belongs to a finished run whose answer is no longer kept (retention or erasure); use a new key', { runId: row.id, status: row.status });
  }
  return { kind: 'replay', reservation, status: row.status, replay };
}

export interface SettleRunInput {
  reservationId: string;
  runId?: string | null;
  usage: Record<string, number | undefined>;
  run?: RunFinish;
}

export interface SettleRunResult {
  reservationId: string;
  runId: string | null;
  ledgerEntryId: string;
  ledgerEntryIds: string[];
  creditsMetered: number;
  creditsCharged: number;
  overage: boolean;
  lines: ReturnType<typeof meterCapabilities>['lines'];
  balance: number;
  wallet: WalletView;
  settledAt: Date;
  replayed: boolean;
}

export async function settleRun(db: Knex, input: SettleRunInput, deps: RunUseCaseDeps = {}): Promise<SettleRunResult> {
  // The reservation and its instance's capabilities (what prices the usage) in one read.
  const row = await one<ReservationRow & { capabilities: { id: string }[] | null; effective_config: Record<string, Record<string, unknown>> | null }>(
    db,
    `select ${RESERVATION_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}, v.capabilities, i.effective_config
       from reservations r left join instances i on i.id = r.instance_id left join offering_versions v on v.id = i.version_id
      where r.id = ?`,
    [input.reservationId],
  );
  if (!row) throw notFound('Reservation');
  const reservation = reservationView(row);
  if (!reservation.instanceId) throw new AppError('UNPROCESSABLE', 'The reservation is not for an instance run', { reservationId: input.reservationId });
  if (!row.capabilities) throw new AppError('NOT_FOUND', 'Instance not found');
  const usage: Record<string, number> = {};
  for (const [k, v] of Object.entries(input.usage)) if (v !== undefined) usage[k] = v;
  const metered = meterCapabilities(row.capabilities.map((c) => c.id), usage);
  return (deps.batcher ?? walletBatcher).run(db, reservation.walletId, deps.bounds ?? {}, async (trx, batch) => {
    const now = nowOf(deps.money);
    const op = settleOp({ reservationId: input.reservationId, credits: metered.total, runId: input.runId ?? null, usage });
    const [o] = await executeBatch(trx, [{ ...op, walletId: reservation.walletId }], { deps: deps.money, eventsDb: db, now });
    if (!o!.ok) throw o!.error;
    const r = o!.value as SettleResult;
    const wallet = await getWallet(trx, r.walletId, deps.money);
    if (!r.replayed) {
      if (r.runId) {
        await finishRun(trx, r.runId, { ...(input.run ?? { status: 'succeeded' }), at: now, usage, creditsCharged: r.charged, ledgerEntryId: r.ledgerEntryId, overage: r.overage, wallet, keepBodies: true });
      }
      batch.audit({
        orgId: wallet.orgId,
        projectId: wallet.projectId,
        action: 'billing.settled',
        resourceType: 'reservation',
        resourceId: r.reservationId,
        actor: deps.actor ?? { type: 'service', id: 'gateway' },
        requestId: deps.requestId,
        data: { instanceId: reservation.instanceId, walletId: r.walletId, runId: r.runId, ledgerEntryId: r.ledgerEntryId, creditsMetered: r.requested, creditsCharged: r.charged, overage: r.overage, balanceAfter: r.balanceAfter },
      });
      if (r.charged > 0) {
        // Crossing the low-balance threshold notifies the org, in this transaction (once per crossing).
        await noticeLowBalance(trx, lowBalanceSettings(wallet.lowBalanceThreshold, row.effective_config), {
          orgId: wallet.orgId, projectId: wallet.projectId, walletId: wallet.id, instanceId: reservation.instanceId, before: r.balanceAfter + r.charged, after: r.balanceAfter, version: wallet.version, cause: 'settle', at: now,
        });
        // A charge that empties the wallet takes its `depletionPolicy: suspend` instances off the gateway now.
        if (r.balanceAfter === 0) await suspendDepletedWallet(trx, wallet.id, now);
      }
    }
    const settled = r.replayed ? await getReservation(trx, input.reservationId) : undefined;
    return {
      reservationId: r.reservationId,
      runId: r.runId,
      ledgerEntryId: r.ledgerEntryId,
      ledgerEntryIds: r.ledgerEntryIds,
      creditsMetered: r.requested,
      creditsCharged: r.charged,
      overage: r.overage,
      lines: metered.lines,
      balance: r.balanceAfter,
      wallet,
      settledAt: settled?.resolvedAt ?? now,
      replayed: r.replayed,
    };
  });
}

export interface VoidRunInput {
  reservationId: string;
  reason?: string | null;
  run?: RunFinish;
}

export async function voidRun(db: Knex, input: VoidRunInput, deps: RunUseCaseDeps = {}): Promise<{ reservation: ReservationView; replayed: boolean }> {
  const reservation = await getReservation(db, input.reservationId);
  return (deps.batcher ?? walletBatcher).run(db, reservation.walletId, deps.bounds ?? {}, async (trx, batch) => {
    const now = nowOf(deps.money);
    const [o] = await executeBatch(trx, [{ ...voidOp({ reservationId: input.reservationId }), walletId: reservation.walletId }], { deps: deps.money, eventsDb: db, now });
    if (!o!.ok) throw o!.error;
    const r = o!.value as VoidResult;
    if (!r.replayed) {
      if (r.reservation.runId) {
        const finish: RunFinish = input.run ?? { status: 'failed', error: { status: 500, code: 'INTERNAL', message: input.reason ?? 'voided' } };
        const wallet = await getWallet(trx, r.reservation.walletId, deps.money);
        await finishRun(trx, r.reservation.runId, { ...finish, at: now, creditsCharged: 0, wallet, keepBodies: true });
      }
      const w = await one<{ org_id: string; project_id: string | null }>(trx, 'select org_id, project_id from wallets where id = ?', [r.reservation.walletId]);
      batch.audit({
        orgId: w!.org_id,
        projectId: w!.project_id,
        action: 'billing.voided',
        resourceType: 'reservation',
        resourceId: r.reservation.id,
        actor: deps.actor ?? { type: 'service', id: 'gateway' },
        requestId: deps.requestId,
        data: { instanceId: r.reservation.instanceId, walletId: r.reservation.walletId, runId: r.reservation.runId, amount: r.reservation.amount, reason: input.reason ?? null },
      });
    } else if (r.reservation.status === 'expired' && r.reservation.runId) {
      await expireRunsOf(trx, [r.reservation.id], now);
    }
    return r;
  });
}

