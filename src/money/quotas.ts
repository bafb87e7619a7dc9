/**
 * Credit quotas: online charging after the Diameter credit-control model (RFC 4006 §5, "Gy";
 * obsoleted by RFC 8506, same model). A gateway replica asks for a block of credits for an
 * instance (CCR-Initial → granted units with a Validity-Time), admits runs against it locally,
 * asks for more before it runs out or its validity ends (CCR-Update), reports each run's used
 * units as it answers, and gives back what is left when it stops (CCR-Termination).
 *
 * Here a quota is an ordinary open reservation of kind `quota` on the instance's wallet
 * (billing.ts), so `available = balance − open holds` counts it like any run's hold: the sum of
 * every quota and every hold never exceeds the balance, across any number of gateway replicas.
 *
 * - `grantQuota`: the instance must be runnable (not EOL, active); the grant is
 *   min(requested, half of what is available), and at least one run's `maxCreditsPerRun` — else
 *   403 INSUFFICIENT_CREDITS and the gateway admits run by run (authorizeRun: exact depletion,
 *   `suspend`). Instances with `maxRunsPerDay` are admitted run by run (409 CONFLICT here).
 * - `renewQuota`: the same checks again (a paused, EOL or revoked instance's quota is released
 *   and the refusal answered), then the quota is resized to what the holder asks (capped by
 *   available) and its validity extended. `useUntil` = now + validity (≤ 60 s): the holder admits
 *   no run on it after that — the bound on how late a state change takes effect.
 * - `chargeQuotaRun`: one run, reported synchronously before its answer: a settled reservation
 *   of the run's hold (id chosen by the gateway) debits min(metered, hold), the quota shrinks by
 *   that charge, and the run is recorded finished — one job on the wallet's batcher, so many
 *   runs share one transaction and one COMMIT. Idempotent by run id (same answer again).
 * - `voidQuotaRun`: a run that ended uncharged (the Runner failed) is recorded; a run already
 *   charged answers 409 RESERVATION_ALREADY_RESOLVED, and once recorded uncharged a run can
 *   never be charged (409 too).
 * - `releaseQuota`: voids what is left (the holder stopped). A holder that crashed never does:
 *   its quota's hold expires at `expiresAt` = useUntil + QUOTA_HOLD_SECONDS (the sweeper, or
 *   lazily), the same bound as a run's hold — runs admitted before `useUntil` can still be
 *   charged until then.
 */
import type { Knex } from 'knex';
import type { AuditActor } from '../audit';
import type { AuditInput } from '../audit/event';
import { isTransaction, one, type Db } from '../db/tx';
import { AppError, notFound } from '../platform/errors';
import { insertFinishedRuns, insertRun, runById, type CallerKind, type FinishedRunFacts, type NewRunRow, type RunFinish } from '../runs/records';
import { executeBatch, RESERVATION_COLUMNS, type QuotaChargeOp, type QuotaResizeResult, type ReservationRow, type SettleResult, type AuthorizeResult, type VoidResult, authorizeOp } from './billing';
import type { MoneyBounds } from './bounds';
import { lowBalanceSettings, noticeLowBalance } from './low-balance-notice';
import { meterCapabilities } from './metering';
import type { RunLimits } from './run-limits';
import { limitsOfInstance, runnableInstance, type InstanceForRun, type SettleRunResult } from './runs';
import { nowOf, type MoneyDeps, type WalletView } from './types';
import { walletBatcher, type WalletBatcher } from './wallet-batch';
import { expireOverdueLocked, getWallet, lockWallet, walletView } from './wallets';
import { quotaCharges } from './quota-charges';
import { applyQuotaJournal } from './usage-journal';
import type { RunAdmission } from '../../generated/control-plane/types';

/** How long after `useUntil` a quota still holds its credits: runs admitted before it may still be charged. */
export const QUOTA_HOLD_SECONDS = 120;
export const DEFAULT_QUOTA_VALIDITY_SECONDS = 5;
export const MAX_QUOTA_VALIDITY_SECONDS = 60;

export interface QuotaDeps {
  money?: MoneyDeps;
  bounds?: MoneyBounds;
  actor?: AuditActor;
  requestId?: string;
  batcher?: WalletBatcher;
}

export interface QuotaView {
  quotaId: string;
  instanceId: string;
  walletId: string;
  holder: string;
  /** Credits the quota holds now. */
  amount: number;
  /** Credits this call added to the quota (negative when it shrank it). */
  added: number;
  /** The holder admits runs on the quota until then (the grant's validity). */
  useUntil: Date;
  /** The hold lapses then if nobody renews or releases it. */
  expiresAt: Date;
  status: ReservationRow['status'];
  /** The limits every run on the quota keeps (absent on a release). */
  limits?: RunLimits;
  balance: number;
  available: number;
}

export interface GrantQuotaInput {
  instanceId: string;
  holder: string;
  credits: number;
  validitySeconds?: number;
}

const validityOf = (s: number | undefined) => Math.min(MAX_QUOTA_VALIDITY_SECONDS, Math.max(1, Math.floor(s ?? DEFAULT_QUOTA_VALIDITY_SECONDS)));

/** What a quota may take of `available`: half of it (the rest stays for other replicas and run-by-run admission). */
const grantable = (available: number) => Math.floor(Math.max(0, available) / 2);

function quotaLimits(inst: InstanceForRun): RunLimits {
  const limits = limitsOfInstance(inst);
  if (limits.maxRunsPerDay !== undefined) {
    throw new AppError('CONFLICT', 'This instance has a daily run limit: its runs are admitted one by one', { instanceId: inst.id, maxRunsPerDay: limits.maxRunsPerDay });
  }
  return limits;
}

function view(q: ReservationRow, limits: RunLimits | undefined, added: number, balance: number, available: number): QuotaView {
  return {
    quotaId: q.id, instanceId: q.instance_id!, walletId: q.wallet_id, holder: q.holder!, amount: q.amount, added, useUntil: q.use_until!, expiresAt: q.expires_at,
    status: q.status, limits, balance, available: Math.max(0, available),
  };
}

function insufficient(inst: InstanceForRun, limits: RunLimits, balance: number, available: number): AppError {
  return new AppError('INSUFFICIENT_CREDITS', 'Not enough credits available for a quota; runs are admitted one by one', {
    instanceId: inst.id, walletId: inst.wallet_id, balance, available: Math.max(0, available), requiredBudget: limits.maxCreditsPerRun * 2,
  });
}

export async function grantQuota(db: Knex, input: GrantQuotaInput, deps: QuotaDeps = {}): Promise<QuotaView> {
  const inst = await runnableInstance(db, input.instanceId);
  const limits = quotaLimits(inst);
  const validity = validityOf(input.validitySeconds);
  return (deps.batcher ?? walletBatcher).run(db, inst.wallet_id, deps.bounds ?? {}, async (trx, batch) => {
    const now = nowOf(deps.money);
    let w = await lockWallet(trx, inst.wallet_id);
    if (grantable(w.balance - w.reserved) < Math.min(input.credits, limits.maxCreditsPerRun)) w = (await expireOverdueLocked(trx, inst.wallet_id, now)).wallet ?? w;
    const amount = Math.min(Math.floor(input.credits), grantable(w.balance - w.reserved));
    if (amount < limits.maxCreditsPerRun) throw insufficient(inst, limits, w.balance, w.balance - w.reserved);
    const useUntil = new Date(now.getTime() + validity * 1000);
    const op = authorizeOp({ walletId: inst.wallet_id, instanceId: inst.id, amount, ttlSeconds: validity + QUOTA_HOLD_SECONDS });
    const [o] = await executeBatch(trx, [{ ...op, quota: { holder: input.holder, useUntil } }], { deps: deps.money, eventsDb: db, now });
    if (!o!.ok) throw o!.error;
    const a = o!.value as AuthorizeResult;
    batch.audit({
      orgId: inst.org_id, projectId: inst.project_id, action: 'billing.quota_granted', resourceType: 'reservation', resourceId: a.reservation.id,
      actor: deps.actor ?? { type: 'service', id: 'gateway' }, requestId: deps.requestId,
      data: { instanceId: inst.id, walletId: inst.wallet_id, holder: input.holder, amount, useUntil: useUntil.toISOString() },
    });
    const row: ReservationRow = {
      id: a.reservation.id, wallet_id: inst.wallet_id, instance_id: inst.id, run_id: null, amount, status: 'open', expires_at: a.reservation.expiresAt,
      settled_entry_id: null, requested: null, charged: null, overage: false, usage: null, resolved_at: null, created_at: now, kind: 'quota', holder: input.holder, use_until: useUntil,
    };
    return view(row, limits, amount, a.balance, a.available);
  });
}

async function quotaRow(db: Db, quotaId: string, holder?: string): Promise<ReservationRow> {
  const q = await one<ReservationRow>(db, `select ${RESERVATION_COLUMNS} from reservations where id = ? and kind = 'quota'`, [quotaId]);
  if (!q || (holder !== undefined && q.holder !== holder)) throw notFound('Quota');
  return q;
}

export interface RenewQuotaInput {
  holder: string;
  credits: number;
  validitySeconds?: number;
}

export async function renewQuota(db: Knex, quotaId: string, input: RenewQuotaInput, deps: QuotaDeps = {}): Promise<QuotaView> {
  const q = await quotaRow(db, quotaId, input.holder);
  let inst: InstanceForRun;
  let limits: RunLimits;
  try {
    inst = await runnableInstance(db, q.instance_id!);
    limits = quotaLimits(inst);
  } catch (err) {
    // The instance may no longer run (paused, EOL, a daily limit now): its quota goes back.
    if (err instanceof AppError && err.code !== 'NOT_FOUND') await releaseQuota(db, quotaId, { holder: input.holder }, deps).catch(() => undefined);
    throw err;
  }
  const validity = validityOf(input.validitySeconds);
  return (deps.batcher ?? walletBatcher).run(db, q.wallet_id, deps.bounds ?? {}, async (trx) => {
    const now = nowOf(deps.money);
    let w = await lockWallet(trx, q.wallet_id);
    // Its runs' journaled charges first: the holder asks for what it holds after them.
    if ((await applyQuotaJournal(db, trx, quotaId, { money: deps.money })).charged.length) w = await lockWallet(trx, q.wallet_id);
    const amount = (await quotaRow(trx, quotaId)).amount;
    // Grow by at most half of what is available, or shrink to what the holder asks.
    const target = Math.min(Math.floor(input.credits), amount + grantable(w.balance - w.reserved));
    const useUntil = new Date(now.getTime() + validity * 1000);
    const [o] = await executeBatch(trx, [{ kind: 'quota_resize', walletId: q.wallet_id, quotaId, target: Math.max(0, target), useUntil, expiresAt: new Date(useUntil.getTime() + QUOTA_HOLD_SECONDS * 1000) }], { deps: deps.money, eventsDb: db, now });
    if (!o!.ok) throw o!.error;
    const r = o!.value as QuotaResizeResult;
    return view(r.quota, limits, r.added, r.balance, r.available);
  });
}

export async function releaseQuota(db: Knex, quotaId: string, input: { holder: string }, deps: QuotaDeps = {}): Promise<QuotaView> {
  factsCache.delete(quotaId);
  const q = await quotaRow(db, quotaId, input.holder);
  return (deps.batcher ?? walletBatcher).run(db, q.wallet_id, deps.bounds ?? {}, async (trx, batch) => {
    const now = nowOf(deps.money);
    await lockWallet(trx, q.wallet_id);
    // Journal inserts in flight hold the quota KEY SHARE: this waits for them, and later ones
    // find it released. Then its runs' journaled charges are made before what is left goes back.
    await trx.raw(`select id from reservations where id = ? for update`, [quotaId]);
    await applyQuotaJournal(db, trx, quotaId, { money: deps.money });
    const [o] = await executeBatch(trx, [{ kind: 'void', walletId: q.wallet_id, reservationId: quotaId }], { deps: deps.money, eventsDb: db, now });
    if (!o!.ok) throw o!.error;
    const r = o!.value as VoidResult;
    const w = await getWallet(trx, q.wallet_id, deps.money);
    if (!r.replayed) {
      batch.audit({
        orgId: w.orgId, projectId: w.projectId, action: 'billing.quota_released', resourceType: 'reservation', resourceId: quotaId,
        actor: deps.actor ?? { type: 'service', id: 'gateway' }, requestId: deps.requestId,
        data: { instanceId: q.instance_id, walletId: q.wallet_id, holder: q.holder, released: r.reservation.amount },
      });
    }
    const released: ReservationRow = { ...q, status: r.reservation.status, amount: r.reservation.amount, resolved_at: r.reservation.resolvedAt };
    return view(released, undefined, -r.reservation.amount, w.balance, w.available);
  });
}

/** The run as the gateway admitted it: its record's owner and input. */
export interface QuotaRunAdmission {
  attemptId: string;
  callerKind: CallerKind;
  callerSubject: string;
  trigger?: { kind: 'schedule' | 'webhook'; id: string };
  sessionId?: string;
  input?: Record<string, unknown>;
  startedAt?: Date;
}

export interface ChargeQuotaRunInput {
  holder: string;
  /** The run's reservation id, chosen by the gateway when it admitted the run. */
  reservationId: string;
  runId: string;
  /** The run's hold, taken from the quota when it was admitted (what caps its charge). */
  hold: number;
  usage: Record<string, number | undefined>;
  admission: QuotaRunAdmission;
  run: RunFinish;
}

export interface QuotaFacts extends ReservationRow {
  capabilities: { id: string }[] | null;
  i_id: string | null;
  org_id: string;
  project_id: string;
  plan_id: string;
  effective_config: InstanceForRun['effective_config'];
  plans: InstanceForRun['plans'];
}

/**
 * A quota's facts (its instance, wallet, capabilities and plans) are read once per
 * FACTS_CACHE_MS, not once per charge: a run's charge is then one wallet transaction. What may
 * change meanwhile (an instance's config: its retention days) takes effect within that time;
 * the quota's own state (open, amount, expiry) is always read under the wallet's lock.
 */
const FACTS_CACHE_MS = 5_000;
const FACTS_CACHE_ENTRIES = 10_000;
const factsCache = new Map<string, { facts: QuotaFacts & { inst: InstanceForRun }; until: number }>();

async function quotaFacts(db: Db, quotaId: string, holder: string): Promise<QuotaFacts & { inst: InstanceForRun }> {
  const hit = factsCache.get(quotaId);
  if (hit && Date.now() < hit.until && hit.facts.holder === holder) return hit.facts;
  const facts = await readQuotaFacts(db, quotaId, holder);
  if (factsCache.size >= FACTS_CACHE_ENTRIES) factsCache.delete(factsCache.keys().next().value!);
  factsCache.set(quotaId, { facts, until: Date.now() + FACTS_CACHE_MS });
  return facts;
}

async function readQuotaFacts(db: Db, quotaId: string, holder: string): Promise<QuotaFacts & { inst: InstanceForRun }> {
  const f = await one<QuotaFacts>(
    db,
    `select ${RESERVATION_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}, v.capabilities, i.id as i_id, i.org_id, i.project_id, i.plan_id, i.effective_config, v.plans
       from reservations r join instances i on i.id = r.instance_id join offering_versions v on v.id = i.version_id
      where r.id = ? and r.kind = 'quota'`,
    [quotaId],
  );
  if (!f || f.holder !== holder || !f.capabilities) throw notFound('Quota');
  const inst: InstanceForRun = { id: f.i_id!, state: 'active', offering_lifecycle: 'published', wallet_id: f.wallet_id, org_id: f.org_id, project_id: f.project_id, plan_id: f.plan_id, effective_config: f.effective_config, plans: f.plans };
  return { ...f, inst };
}

const runBase = (f: { inst: InstanceForRun }, runId: string, a: QuotaRunAdmission, limits: RunLimits, now: Date) => ({
  id: runId,
  instance_id: f.inst.id,
  org_id: f.inst.org_id,
  project_id: f.inst.project_id,
  wallet_id: f.inst.wallet_id,
  caller_kind: a.callerKind,
  caller_subject: a.callerSubject,
  trigger_kind: a.trigger?.kind ?? ('api' as const),
  trigger_id: a.trigger?.id ?? null,
  session_id: a.sessionId ?? null,
  attempt_id: a.attemptId,
  request_hash: null,
  input: a.input ?? null,
  bodies_expire_at: new Date(now.getTime() + limits.retentionDays * 86_400_000),
  started_at: a.startedAt ?? now,
});

/** A run's charge, prepared outside any transaction: its op and everything its record needs. */
export interface PreparedCharge {
  op: QuotaChargeOp;
  facts: QuotaFacts & { inst: InstanceForRun };
  limits: RunLimits;
  input: ChargeQuotaRunInput;
  usage: Record<string, number>;
  lines: ReturnType<typeof meterCapabilities>['lines'];
  actor: AuditActor;
  requestId?: string;
}

export type ChargeAnswer = SettleRunResult & { quotaLeft?: number };

/**
 * What a charge the engine just made writes beside its ledger rows: its run's record, its audit
 * event and, when it took the wallet below its low-balance threshold, the org's notice (as a
 * settle does: low-balance-notice.ts). `wallet` is the wallet as the charge left it.
 */
export function chargeRecord(c: PreparedCharge, r: SettleResult, wallet: WalletView, now: Date) {
  const row: NewRunRow = { ...runBase(c.facts, c.input.runId, c.input.admission, c.limits, now), status: 'running', reservation_id: r.reservationId };
  const finish: FinishedRunFacts = { ...c.input.run, at: now, usage: c.usage, creditsCharged: r.charged, ledgerEntryId: r.ledgerEntryId, overage: r.overage, wallet, keepBodies: true };
  const audit: AuditInput = {
    orgId: wallet.orgId, projectId: wallet.projectId, action: 'billing.settled', resourceType: 'reservation', resourceId: r.reservationId,
    actor: c.actor, requestId: c.requestId,
    data: { instanceId: c.facts.inst.id, walletId: r.walletId, runId: r.runId, quotaId: c.op.quotaId, ledgerEntryId: r.ledgerEntryId, creditsMetered: r.requested, creditsCharged: r.charged, overage: r.overage, balanceAfter: r.balanceAfter },
  };
  const lowBalance = r.charged > 0
    ? {
      settings: lowBalanceSettings(wallet.lowBalanceThreshold, c.facts.inst.effective_config),
      change: { orgId: wallet.orgId, projectId: wallet.projectId, walletId: wallet.id, instanceId: c.facts.inst.id, before: r.balanceAfter + r.charged, after: r.balanceAfter, version: wallet.version, cause: 'settle' as const, at: now },
    }
    : undefined;
  return { row, finish, audit, lowBalance };
}

/** The charges' run records, and the low-balance notices of those that crossed the threshold; answers the run ids written. */
export async function writeChargeRecords(trx: Knex.Transaction, records: readonly ReturnType<typeof chargeRecord>[]): Promise<Set<string>> {
  const written = await insertFinishedRuns(trx, records);
  for (const r of records) if (r.lowBalance && written.has(r.row.id)) await noticeLowBalance(trx, r.lowBalance.settings, r.lowBalance.change);
  return written;
}

export function chargeAnswer(c: PreparedCharge, r: SettleResult, wallet: WalletView, now: Date): ChargeAnswer {
  return {
    reservationId: r.reservationId, runId: r.runId, ledgerEntryId: r.ledgerEntryId, ledgerEntryIds: r.ledgerEntryIds, creditsMetered: r.requested, creditsCharged: r.charged,
    overage: r.overage, lines: c.lines, balance: r.balanceAfter, wallet, settledAt: now, replayed: r.replayed, quotaLeft: r.quotaLeft,
  };
}

/** A run's charge, metered and ready for the engine (its quota's facts read, cached). */
export async function prepareCharge(db: Db, quotaId: string, input: ChargeQuotaRunInput, deps: Pick<QuotaDeps, 'actor' | 'requestId'> & { money?: MoneyDeps } = {}): Promise<PreparedCharge> {
  const f = await quotaFacts(db, quotaId, input.holder);
  const usage: Record<string, number> = {};
  for (const [k, v] of Object.entries(input.usage)) if (v !== undefined) usage[k] = v;
  const metered = meterCapabilities(f.capabilities!.map((c) => c.id), usage);
  return {
    op: { kind: 'quota_charge', walletId: f.wallet_id, quotaId, id: input.reservationId, instanceId: f.inst.id, runId: input.runId, hold: input.hold, requested: metered.total, usage },
    facts: f, limits: limitsOfInstance(f.inst), input, usage, lines: metered.lines, actor: deps.actor ?? { type: 'service', id: 'gateway' }, requestId: deps.requestId,
  };
}

/** The run's admission as the gateway sent it, with its start. */
export function admissionOf(a: RunAdmission, startedAt: string | undefined): QuotaRunAdmission {
  return { ...a, ...(startedAt ? { startedAt: new Date(startedAt) } : {}) } as QuotaRunAdmission;
}

/**
 * One run's charge against its quota (see the module comment). It joins the process's charge
 * combiner (quota-charges.ts): the charges waiting at that moment, of any wallets, go in one
 * transaction. A charge whose wallet is held by another transaction, or a combined transaction
 * that failed, is made alone on its wallet's batcher — which waits for the wallet within the
 * caller's deadline, as every money call does.
 */
export async function chargeQuotaRun(db: Knex, quotaId: string, input: ChargeQuotaRunInput, deps: QuotaDeps = {}): Promise<ChargeAnswer> {
  const c = await prepareCharge(db, quotaId, input, deps);
  if (!isTransaction(db) && !deps.batcher) {
    const combined = await quotaCharges.submit(db, c, deps.bounds ?? {}, deps.money);
    if (combined.kind === 'done') {
      if (!combined.outcome.ok) throw combined.outcome.error;
      const r = combined.outcome.value;
      return chargeAnswer(c, r, r.walletAfter ? walletView(r.walletAfter) : await getWallet(db, c.op.walletId, deps.money), combined.now);
    }
  }
  return chargeAlone(db, c, deps);
}

/** A charge in its own job on its wallet's batcher. */
async function chargeAlone(db: Knex, c: PreparedCharge, deps: QuotaDeps): Promise<ChargeAnswer> {
  return (deps.batcher ?? walletBatcher).run(db, c.op.walletId, deps.bounds ?? {}, async (trx, batch) => {
    const now = nowOf(deps.money);
    const [o] = await executeBatch(trx, [c.op], { deps: deps.money, eventsDb: db, now });
    if (!o!.ok) throw o!.error;
    const r = o!.value as SettleResult;
    // The wallet as this charge leaves it (a replay reads it).
    const wallet = r.walletAfter ? walletView(r.walletAfter) : await getWallet(trx, c.op.walletId, deps.money);
    if (r.replayed) return chargeAnswer(c, r, wallet, now);
    const rec = chargeRecord(c, r, wallet, now);
    // The engine refused a run recorded uncharged under this same lock, so the row is new.
    const written = await writeChargeRecords(trx, [rec]);
    if (!written.has(c.input.runId)) throw new AppError('RESERVATION_ALREADY_RESOLVED', 'This run was recorded uncharged', { runId: c.input.runId });
    batch.audit(rec.audit);
    return chargeAnswer(c, r, wallet, now);
  });
}

export interface VoidQuotaRunInput {
  holder: string;
  runId: string;
  admission: QuotaRunAdmission;
  run: RunFinish;
}

/** Records a run that ended uncharged; answers whether this call recorded it (false: already recorded). */
export async function voidQuotaRun(db: Knex, quotaId: string, input: VoidQuotaRunInput, deps: QuotaDeps = {}): Promise<{ runId: string; status: string; replayed: boolean }> {
  const f = await quotaFacts(db, quotaId, input.holder);
  const limits = limitsOfInstance(f.inst);
  return (deps.batcher ?? walletBatcher).run(db, f.wallet_id, deps.bounds ?? {}, async (trx) => {
    const now = nowOf(deps.money);
    // Under the wallet's lock, like every charge of this wallet: a charge and a void of one run never cross.
    await lockWallet(trx, f.wallet_id);
    const charged = await one<{ id: string }>(
      trx,
      `select id from reservations where wallet_id = ? and run_id = ?
       union all select reservation_id from usage_journal where run_id = ? and outcome is distinct from 'refused'`,
      [f.wallet_id, input.runId, input.runId],
    );
    // Charged, or its charge is in the usage journal (usage-journal.ts): it is applied, never voided.
    if (charged) throw new AppError('RESERVATION_ALREADY_RESOLVED', 'This run was charged', { runId: input.runId, reservationId: charged.id });
    const prior = await runById(trx, input.runId);
    if (prior) return { runId: input.runId, status: prior.status, replayed: true };
    const e = input.run.error;
    await insertRun(trx, {
      ...runBase(f, input.runId, input.admission, limits, now), status: input.run.status, reservation_id: null,
      error_status: e?.status ?? null, error_code: e?.code ?? null, error_message: e?.message.slice(0, 1000) ?? null, error_details: e?.details ?? null,
      finished_at: now, duration_ms: input.run.durationMs ?? Math.max(0, now.getTime() - (input.admission.startedAt ?? now).getTime()),
    });
    return { runId: input.runId, status: input.run.status, replayed: false };
  });
}
