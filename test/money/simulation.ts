/**
 * A seeded, randomized simulation of the money path, in the spirit of TigerBeetle's simulator:
 * many concurrent clients behaving like gateways (authorize → run → settle / void / abandon,
 * top-ups through `runIdempotent`, duplicate keys, retries after unknown outcomes) against a
 * real database while faults are injected, followed by invariant checks.
 *
 * Faults:
 * - `crashBeforeCommit`: the operation runs inside a transaction that then dies (rolled back);
 * - `lostResponse`: the operation commits but the client never hears the answer;
 * - `killConnection` (PostgreSQL): a chaos loop terminates random backends of this database
 *   (`pg_terminate_backend`) mid-query / mid-transaction, from a separate connection.
 * In each case the client sees an error that is not an AppError — an unknown outcome — and
 * retries exactly like a gateway would (same runId / reservationId / Idempotency-Key).
 *
 * The seed fixes every client's decision sequence (each client has its own PRNG). The
 * interleaving on a real server is not deterministic, so a seed reproduces the workload and
 * fault plan, not the exact schedule; failures print the seed and the violations.
 *
 * Invariants (checked on a consistent snapshot during the run by an auditor, and at the end):
 *   per wallet: balance = sum(ledger) ≥ 0; paid/granted = their ledger sums; seqs 1..n with a
 *   consistent balance_after chain; reserved = sum(open reservations); balance − reserved ≥ 0;
 *   per reservation: resolved at most once, a settled one has 1–2 debit rows (one per credit
 *   type) summing to −charged with the primary row as settled_entry_id, others have none;
 *   charged ≤ requested, overage consistent; client model: every acknowledged settle matches the
 *   database (same ledgerEntryId and charge; replays identical), every acknowledged void is
 *   voided, every acknowledged top-up is in the ledger exactly once, unacknowledged at most once;
 *   globally: sum of debits = sum of charged over settled reservations.
 *
 * Plan credits expire: clients also open purchased plan periods whose end has already passed
 * (their included credits granted, src/money/plan-credits.ts) and run the expiry; the sweeper
 * expires them too, concurrently with runs on the same wallets. Invariants: paid and granted
 * balances never go negative; a period expires at most once (one `expiry` row per period), never
 * more than it granted nor more than the wallet's granted balance, its expiry row matches
 * `expired_credits`; every acknowledged grant is in the ledger exactly once; after the final
 * sweep every due period has expired.
 */
import type { Knex } from 'knex';
import { AppError } from '../../src/platform/errors';
import { newId } from '../../src/platform/ids';
import { hashRequest, runIdempotent } from '../../src/platform/idempotency';
import { rows, sqlState, type Db } from '../../src/db/tx';
import { authorize, expireReservations, settle, voidReservation, type SettleResult } from '../../src/money/billing';
import { BillingEngine } from '../../src/money/engine';
import { boundedTransaction } from '../../src/money/bounds';
import { createMemoryConcurrencyLimiter } from '../../src/gateway/concurrency';
import { createWallet, getWallet, topUp } from '../../src/money/wallets';
import { expireDuePlanPeriods, openPlanPeriod, planPeriodOf } from '../../src/money/plan-credits';
import { inTransaction } from '../../src/db/tx';

// ---------------------------------------------------------------------------------------------
// PRNG

/** mulberry32: small, fast, good enough for workload generation. Returns [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function deriveSeed(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const int = (rng: () => number, min: number, max: number) => min + Math.floor(rng() * (max - min + 1));
const pick = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// options and report

export interface SimulationOptions {
  db: Knex;
  seed: number;
  /** Concurrent clients (gateways). */
  clients: number;
  /** Operations per client. */
  opsPerClient: number;
  /** Wallets every client uses (hot, contended). */
  sharedWallets: number;
  /** Wallets spread over clients (mostly uncontended). */
  separateWallets: number;
  /** Probability an operation targets a shared wallet. Default 0.5. */
  sharedProbability?: number;
  starterCredits?: { shared: number; separate: number };
  /** Per-attempt probabilities of injected client-side faults. */
  faults?: { crashBeforeCommit: number; lostResponse: number };
  /**
   * PostgreSQL only: terminate a random backend of this database every `everyMs` (± jitter).
   * `applicationName` selects the backends (the pool's application_name).
   */
  killConnections?: { applicationName: string; everyMs: number };
  /** Run the expiry sweeper every this many ms. Default 150. */
  sweepEveryMs?: number;
  /** Check invariants on a consistent snapshot every this many ms during the run. Default 1000. */
  auditEveryMs?: number;
  /** Attempts per operation before the client gives up (outcome stays unknown). Default 12. */
  maxAttempts?: number;
  /**
   * Share of clients (odd-numbered ones, up to this fraction) that go through a shared
   * BillingEngine (batched) instead of the single-operation functions. Default 0.5.
   */
  engineShare?: number;
  /** Wall-clock cap; clients stop starting new operations after it. Default 45 s. */
  maxDurationMs?: number;
  log?: (line: string) => void;
  /**
   * Runs hold one of `maxConcurrentRuns` leases per wallet (the gateway's in-process limiter):
   * the simulation checks that never more than that many runs of a wallet are in flight.
   */
  maxConcurrentRuns?: number;
  /**
   * PostgreSQL only: hold the first shared wallet's row lock for `holdMs` every `everyMs` (a stuck
   * wallet). Direct clients then run every money operation bounded (bounds.ts, deadline
   * `deadlineMs`): WALLET_BUSY means nothing committed; a client that gives up on a settle voids,
   * and that run must never be charged. Latencies of the other wallets are reported.
   */
  stall?: { holdMs: number; everyMs: number; deadlineMs: number };
}

export interface SimulationReport {
  seed: number;
  durationMs: number;
  clients: number;
  wallets: number;
  ops: Record<string, number>;
  outcomes: Record<string, number>;
  faults: { crashBeforeCommit: number; lostResponse: number; killed: number; unknownErrors: Record<string, number> };
  audits: number;
  engine: { clients: number; batches: number; operations: number; largestBatch: number; isolatedRetries: number };
  /** Most runs of one wallet in flight at once (≤ maxConcurrentRuns). */
  maxInFlightPerWallet: number;
  /** Latency (ms) of money operations on other wallets, outside and during a stall of the stuck one. */
  stall?: { stalls: number; busyAnswers: number; otherWallets: { outsideP50: number; outsideP99: number; duringP50: number; duringP99: number } };
  violations: string[];
  final: { balance: number; debited: number; reservations: Record<string, number>; planPeriods: { opened: number; expired: number; expiredCredits: number } };
}

class InjectedFault extends Error {
  constructor(readonly kind: 'crashBeforeCommit' | 'lostResponse') {
    super(`injected fault: ${kind}`);
  }
}

interface ReservationModel {
  id: string;
  walletId: string;
  amount: number;
  settle?: { ledgerEntryId: string; charged: number; requested: number; ledgerEntryIds: string[] };
  voided?: boolean;
}

interface GrantModel {
  sourceRef: string;
  walletId: string;
  amount: number;
  acked: boolean;
}

interface TopUpModel {
  key: string;
  walletId: string;
  amount: number;
  acked: boolean;
  body?: unknown;
}

// ---------------------------------------------------------------------------------------------
// the run

export async function runSimulation(opts: SimulationOptions): Promise<SimulationReport> {
  const { db, seed } = opts;
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const deadline = started + (opts.maxDurationMs ?? 45_000);
  const faults = opts.faults ?? { crashBeforeCommit: 0.03, lostResponse: 0.03 };
  const maxAttempts = opts.maxAttempts ?? 12;
  const sharedP = opts.sharedProbability ?? 0.5;
  const starter = opts.starterCredits ?? { shared: 1500, separate: 250 };

  const report: SimulationReport = {
    seed,
    durationMs: 0,
    clients: opts.clients,
    wallets: opts.sharedWallets + opts.separateWallets,
    ops: {},
    outcomes: {},
    faults: { crashBeforeCommit: 0, lostResponse: 0, killed: 0, unknownErrors: {} },
    audits: 0,
    engine: { clients: 0, batches: 0, operations: 0, largestBatch: 0, isolatedRetries: 0 },
    maxInFlightPerWallet: 0,
    violations: [],
    final: { balance: 0, debited: 0, reservations: {}, planPeriods: { opened: 0, expired: 0, expiredCredits: 0 } },
  };
  const count = (bucket: Record<string, number>, k: string) => (bucket[k] = (bucket[k] ?? 0) + 1);
  const violation = (msg: string) => {
    if (report.violations.length < 200) report.violations.push(msg);
  };

  // Wallets.
  const shared: string[] = [];
  const separate: string[] = [];
  const orgId = newId('org');
  const projectId = newId('prj');
  await db('orgs').insert({ id: orgId, name: `sim ${seed}` });
  await db('projects').insert({ id: projectId, org_id: orgId, name: 'sim', is_default: true });
  for (let i = 0; i < opts.sharedWallets; i++) {
    shared.push((await createWallet(db, { orgId, starterCredits: starter.shared, lowBalanceThreshold: 100 })).id);
  }
  for (let i = 0; i < opts.separateWallets; i++) {
    separate.push((await createWallet(db, { orgId, starterCredits: starter.separate })).id);
  }
  const allWallets = [...shared, ...separate];
  // One instance per wallet: plan periods belong to an instance.
  const instanceOf = new Map<string, string>();
  for (const walletId of allWallets) {
    const id = newId('inst');
    instanceOf.set(walletId, id);
    await db('instances').insert({ id, org_id: orgId, project_id: projectId, offering_id: 'off_sim', version_id: 'ver_sim', plan_id: 'pro', wallet_id: walletId, name: 'sim', state: 'active', source: 'api' });
  }
  const grants = new Map<string, GrantModel>();

  const reservations = new Map<string, ReservationModel>();
  const topUps = new Map<string, TopUpModel>();
  let stopping = false;

  /** One attempt, possibly with an injected fault. Non-AppErrors are unknown outcomes. */
  async function attempt<T>(rng: () => number, op: (d: Db) => Promise<T>, viaEngine: boolean): Promise<T> {
    const r = rng();
    if (r < faults.crashBeforeCommit && !viaEngine) {
      report.faults.crashBeforeCommit++;
      await db.transaction(async (trx) => {
        await op(trx);
        throw new InjectedFault('crashBeforeCommit');
      });
    }
    if (r < faults.crashBeforeCommit + faults.lostResponse) {
      report.faults.lostResponse++;
      await op(db);
      throw new InjectedFault('lostResponse');
    }
    return op(db);
  }

  /** Retries unknown outcomes like a gateway; AppErrors are answers. */
  async function withRetries<T>(
    rng: () => number,
    op: (d: Db) => Promise<T>,
    viaEngine = false,
    /** Settles: a WALLET_BUSY answer is returned (the caller may give up); else it is retried like a 503. */
    busyIsAnswer = false,
  ): Promise<{ ok: true; value: T } | { ok: false; error: AppError } | { ok: false; unknown: true }> {
    for (let i = 0; i < maxAttempts; i++) {
      try {
        return { ok: true, value: await attempt(rng, op, viaEngine) };
      } catch (err) {
        if (err instanceof AppError && err.code === 'WALLET_BUSY' && !busyIsAnswer) {
          count(report.faults.unknownErrors, 'WALLET_BUSY (retried)');
          await sleep(int(rng, 5, 20));
          continue;
        }
        if (err instanceof AppError) return { ok: false, error: err };
        if (!(err instanceof InjectedFault)) {
          const state = sqlState(err);
          const key = state ?? String((err as Error)?.message ?? err).slice(0, 60);
          count(report.faults.unknownErrors, key);
          // Dying connections are expected; integrity errors and deadlocks mean a race the
          // locking should have prevented (the database's constraints caught it, but the
          // code should never have tried).
          if (state && (state.startsWith('23') || state === '40P01' || state === '40001')) {
            violation(`unexpected database error ${state}: ${String((err as Error).message).slice(0, 160)}`);
          }
        }
        await sleep(int(rng, 0, 3) * (i + 1));
      }
    }
    return { ok: false, unknown: true };
  }

  const engine = new BillingEngine(db, {}, { maxBatch: 64, maxInFlight: 4 });
  const engineShare = opts.engineShare ?? 0.5;
  const engineClients = Math.floor(opts.clients * engineShare);
  report.engine.clients = engineClients;

  interface Api {
    viaEngine: boolean;
    authorize: (d: Db, input: Parameters<typeof authorize>[1]) => ReturnType<typeof authorize>;
    settle: (d: Db, input: Parameters<typeof settle>[1]) => ReturnType<typeof settle>;
    void: (d: Db, input: { reservationId: string }) => ReturnType<typeof voidReservation>;
  }
  // With a stuck wallet, direct clients run bounded transactions (the Control Plane's rule).
  const stall = opts.stall;
  let stalled = false;
  const latency = { outside: [] as number[], during: [] as number[] };
  const timed = async <T>(walletId: string, d: Db, work: (trx: Db) => Promise<T>): Promise<T> => {
    if (!stall || d !== db) return work(d);
    const during = stalled;
    const t0 = performance.now();
    try {
      return await boundedTransaction(db, walletId, { deadline: Date.now() + stall.deadlineMs }, (trx) => work(trx));
    } finally {
      if (walletId !== stuckWallet) (during ? latency.during : latency.outside).push(performance.now() - t0);
    }
  };
  let stuckWallet = '';
  const walletOfRes = new Map<string, string>();
  const direct: Api = {
    viaEngine: false,
    authorize: (d, i) => timed(i.walletId, d, (x) => authorize(x, i)).then((r) => (walletOfRes.set(r.reservation.id, r.reservation.walletId), r)),
    settle: (d, i) => timed(walletOfRes.get(i.reservationId) ?? '', d, (x) => settle(x, i)),
    void: (d, i) => timed(walletOfRes.get(i.reservationId) ?? '', d, (x) => voidReservation(x, i)),
  };
  // maxConcurrentRuns per wallet, as the gateway enforces it.
  const leases = createMemoryConcurrencyLimiter();
  const inFlight = new Map<string, number>();
  const gaveUp = new Set<string>();
  const restartedRuns = new Set<string>();
  const batched: Api = {
    viaEngine: true,
    authorize: (_d, i) => engine.authorize(i),
    settle: (_d, i) => engine.settle(i),
    void: (_d, i) => engine.void(i),
  };

  async function runOnce(rng: () => number, walletId: string, api: Api): Promise<void> {
    const runId = newId('run');
    if (opts.maxConcurrentRuns !== undefined) {
      const lease = await leases.acquire(walletId, runId, opts.maxConcurrentRuns, 60_000);
      if (!lease.acquired) return void count(report.outcomes, 'concurrency.refused');
    }
    const n = (inFlight.get(walletId) ?? 0) + 1;
    inFlight.set(walletId, n);
    report.maxInFlightPerWallet = Math.max(report.maxInFlightPerWallet, n);
    if (opts.maxConcurrentRuns !== undefined && n > opts.maxConcurrentRuns) violation(`${n} runs of wallet ${walletId} in flight, above maxConcurrentRuns ${opts.maxConcurrentRuns}`);
    try {
      await runBody(rng, walletId, api, runId);
    } finally {
      inFlight.set(walletId, (inFlight.get(walletId) ?? 1) - 1);
      await leases.release(walletId, runId);
    }
  }

  async function runBody(rng: () => number, walletId: string, api: Api, runId: string): Promise<void> {
    const e = api.viaEngine;
    const amount = int(rng, 1, 60);
    const fate = rng();
    const ttlSeconds = fate < 0.12 ? 1 : pick(rng, [1, 2, 5, 30]);
    count(report.ops, 'authorize');
    const a = await withRetries(rng, (d) => api.authorize(d, { walletId, runId, instanceId: 'inst_sim', amount, ttlSeconds }), e);
    if (!a.ok) {
      if ('unknown' in a) return void count(report.outcomes, 'authorize.unknown');
      if (a.error.code === 'INSUFFICIENT_CREDITS') {
        const d = a.error.details as { available: number; requiredBudget: number };
        if (!(d.available < d.requiredBudget)) violation(`INSUFFICIENT_CREDITS with available ${d.available} ≥ ${d.requiredBudget}`);
        return void count(report.outcomes, 'authorize.insufficient');
      }
      violation(`authorize answered unexpected ${a.error.code}: ${a.error.message}`);
      return;
    }
    count(report.outcomes, a.value.replayed ? 'authorize.ok.replayed' : 'authorize.ok');
    const res = a.value.reservation;
    if (res.amount !== amount || res.walletId !== walletId) violation(`authorize replay mismatch for ${runId}`);
    const model: ReservationModel = { id: res.id, walletId, amount };
    reservations.set(res.id, model);

    if (fate < 0.08) {
      count(report.outcomes, 'abandoned'); // left to expire
      return;
    }
    if (fate < 0.12) {
      // Settle after the TTL: must be refused as expired (or was already expired on replay).
      await sleep(ttlSeconds * 1000 + int(rng, 20, 120));
      count(report.ops, 'settle.late');
      const lateCredits = int(rng, 0, amount);
      const s = await withRetries(rng, (d) => api.settle(d, { reservationId: res.id, credits: lateCredits, runId }), e);
      if (s.ok) violation(`late settle of ${res.id} succeeded after its TTL`);
      else if ('error' in s && s.error.code !== 'RESERVATION_EXPIRED') violation(`late settle answered ${s.error.code}`);
      count(report.outcomes, s.ok ? 'settle.late.ok' : 'error' in s ? `settle.late.${s.error.code}` : 'settle.late.unknown');
      return;
    }
    await sleep(int(rng, 0, 8)); // the run
    if (fate < 0.27) {
      count(report.ops, 'void');
      const v = await withRetries(rng, (d) => api.void(d, { reservationId: res.id }), e);
      if (v.ok) {
        if (v.value.reservation.status === 'voided') model.voided = true;
        else if (v.value.reservation.status !== 'expired') violation(`void answered status ${v.value.reservation.status}`);
        count(report.outcomes, `void.${v.value.reservation.status}`);
        // A settle after a void must be refused.
        if (model.voided && rng() < 0.3) {
          const s = await withRetries(rng, (d) => api.settle(d, { reservationId: res.id, credits: 1 }), e);
          if (s.ok || ('error' in s && s.error.code !== 'RESERVATION_ALREADY_RESOLVED')) {
            violation(`settle after void answered ${s.ok ? 'ok' : 'error' in s ? s.error.code : 'unknown'}`);
          }
        }
      } else if ('error' in v) {
        violation(`void answered ${v.error.code}`);
      } else count(report.outcomes, 'void.unknown');
      return;
    }
    // Settle, sometimes above the reservation (overage).
    // Sometimes above the hold, sometimes huge (a runner reporting 1000× the hold): never charged beyond it.
    const credits = rng() < 0.03 ? amount * 1000 : rng() < 0.15 ? int(rng, amount, amount * 3) : int(rng, 0, amount);
    count(report.ops, 'settle');
    const s = await withRetries(rng, (d) => api.settle(d, { reservationId: res.id, credits, runId, usage: { units: credits } }), e, !!stall && rng() < 0.5);
    if (!s.ok) {
      if ('unknown' in s) return void count(report.outcomes, 'settle.unknown');
      if (s.error.code === 'WALLET_BUSY') {
        // The gateway's path when settle keeps failing (src/gateway/runs.ts settleRun): void it.
        // The void decides: RESERVATION_ALREADY_RESOLVED means an earlier attempt whose outcome
        // was unknown (a connection lost at COMMIT) did commit — the run is reported charged.
        // Otherwise the run is reported uncharged, and must never end settled.
        const v = await withRetries(rng, (d) => api.void(d, { reservationId: res.id }), e);
        if (!v.ok && 'error' in v && v.error.code === 'RESERVATION_ALREADY_RESOLVED') return void count(report.outcomes, 'settle.busy.was_charged');
        gaveUp.add(res.id);
        count(report.outcomes, v.ok ? 'settle.busy.voided' : 'settle.busy.left_to_expire');
        return;
      }
      // The reservation can have expired while the outcome was unknown / the client was slow.
      if (s.error.code !== 'RESERVATION_EXPIRED') violation(`settle answered ${s.error.code}: ${s.error.message}`);
      return void count(report.outcomes, `settle.${s.error.code}`);
    }
    count(report.outcomes, s.value.replayed ? 'settle.ok.replayed' : 'settle.ok');
    checkSettleShape(s.value, credits, amount);
    model.settle = {
      ledgerEntryId: s.value.ledgerEntryId,
      charged: s.value.charged,
      requested: credits,
      ledgerEntryIds: s.value.ledgerEntryIds,
    };
    // Duplicate retries (a gateway whose settle response was slow): must replay identically.
    const dups = rng() < 0.2 ? int(rng, 1, 3) : 0;
    for (let i = 0; i < dups; i++) {
      count(report.ops, 'settle.duplicate');
      const again = await withRetries(rng, (d) => api.settle(d, { reservationId: res.id, credits, runId }), e);
      if (!again.ok) {
        if ('error' in again) violation(`settle replay answered ${again.error.code}`);
        continue;
      }
      if (
        again.value.ledgerEntryId !== s.value.ledgerEntryId ||
        again.value.charged !== s.value.charged ||
        again.value.balanceAfter !== s.value.balanceAfter ||
        !again.value.replayed
      ) {
        violation(`settle replay of ${res.id} differs: ${JSON.stringify([s.value, again.value])}`);
      }
    }
    // A restart between two uses of the run's key: the same runId authorized again replays the
    // resolved reservation, and a settle with another charge is refused — never a second debit.
    if (rng() < 0.2) {
      count(report.ops, 'restart.reuse');
      restartedRuns.add(res.id);
      const again = await withRetries(rng, (d) => api.authorize(d, { walletId, runId, instanceId: 'inst_sim', amount, ttlSeconds: 30 }), e);
      if (again.ok && (!again.value.replayed || again.value.reservation.id !== res.id || again.value.reservation.status === 'open')) {
        violation(`authorize after a restart gave ${JSON.stringify(again.value.reservation)} for settled ${res.id}`);
      }
      const other = await withRetries(rng, (d) => api.settle(d, { reservationId: res.id, credits: credits + 1, runId }), e);
      if (other.ok) violation(`a second settle with another charge of ${res.id} succeeded`);
    }
    // A void after a settle must be refused.
    if (rng() < 0.05) {
      const v = await withRetries(rng, (d) => api.void(d, { reservationId: res.id }), e);
      if (v.ok || ('error' in v && v.error.code !== 'RESERVATION_ALREADY_RESOLVED')) {
        violation(`void after settle answered ${v.ok ? 'ok' : 'error' in v ? v.error.code : 'unknown'}`);
      }
    }
  }

  function checkSettleShape(r: SettleResult, requested: number, amount: number) {
    if (r.charged < 0 || r.charged > requested) violation(`settle charged ${r.charged} of ${requested}`);
    if (r.charged > amount) violation(`settle charged ${r.charged} beyond its hold of ${amount}`);
    if (r.chargedGranted + r.chargedPaid !== r.charged) violation(`settle split ${r.chargedGranted}+${r.chargedPaid} ≠ ${r.charged}`);
    if (r.overage !== (requested > amount || r.charged < requested)) violation(`settle overage flag wrong: ${JSON.stringify(r)}`);
    if (r.balanceAfter < 0) violation(`settle left balance ${r.balanceAfter}`);
    if (r.ledgerEntryId !== r.ledgerEntryIds[0]) violation('settle primary entry is not the first');
  }

  async function topUpOnce(rng: () => number, clientIx: number, walletId: string): Promise<void> {
    const key = `sim:${seed}:${clientIx}:${newId('k')}`;
    const amount = int(rng, 20, 400);
    const creditType = rng() < 0.8 ? 'paid' : 'granted';
    const model: TopUpModel = { key, walletId, amount, acked: false };
    topUps.set(key, model);
    const call = (d: Db, amt = amount) =>
      runIdempotent(d, { scope: `sim:topup:${walletId}`, key, requestHash: hashRequest({ walletId, amount: amt }) }, async (trx) => {
        const r = await topUp(trx, { walletId, amount: amt, creditType, metadata: { simKey: key } });
        return { status: 201, body: { ledgerEntryId: r.ledgerEntryId } };
      });
    count(report.ops, 'topup');
    // Sometimes the same request is sent twice at once (a retry racing the original).
    const copies = rng() < 0.25 ? 2 : 1;
    const results = await Promise.all(Array.from({ length: copies }, () => withRetries(rng, (d) => call(d))));
    const bodies = new Set<string>();
    for (const r of results) {
      if (r.ok) {
        model.acked = true;
        bodies.add(JSON.stringify(r.value.body));
        count(report.outcomes, r.value.replayed ? 'topup.ok.replayed' : 'topup.ok');
      } else if ('error' in r) {
        if (r.error.code !== 'IDEMPOTENCY_IN_PROGRESS') violation(`top-up answered ${r.error.code}`);
        count(report.outcomes, `topup.${r.error.code}`);
      } else count(report.outcomes, 'topup.unknown');
    }
    if (bodies.size > 1) violation(`top-up ${key} answered two different bodies: ${[...bodies].join(' / ')}`);
    model.body = bodies.size ? JSON.parse([...bodies][0]) : undefined;
    // The same key with another payload must be refused, and change nothing.
    if (model.acked && rng() < 0.1) {
      count(report.ops, 'topup.mismatch');
      const m = await withRetries(rng, (d) => call(d, amount + 1));
      if (m.ok || ('error' in m && m.error.code !== 'IDEMPOTENCY_PAYLOAD_MISMATCH')) {
        violation(`top-up with a reused key and another amount answered ${m.ok ? 'ok' : 'error' in m ? m.error.code : 'unknown'}`);
      }
    }
  }

  /** A purchased plan period that has already ended: its credits are granted, then due to expire. */
  async function planPeriodOnce(rng: () => number, clientIx: number, walletId: string): Promise<void> {
    const sourceRef = `sim:${seed}:${clientIx}:${newId('pl')}`;
    const amount = int(rng, 0, 300);
    const model: GrantModel = { sourceRef, walletId, amount, acked: false };
    grants.set(sourceRef, model);
    const days = int(rng, 1, 5);
    // Opened `days + 1` days ago for `days` days: its end has passed.
    const opened = { clock: () => new Date(Date.now() - (days + 1) * 86_400_000) };
    count(report.ops, 'plan.grant');
    // As the order-paid path does: a redelivered line finds its period and changes nothing.
    const r = await withRetries(rng, (d) =>
      inTransaction(d, async (trx) => {
        if (await planPeriodOf(trx, sourceRef)) return 'replayed' as const;
        await openPlanPeriod(trx, { instanceId: instanceOf.get(walletId)!, orgId, projectId, walletId, planId: 'pro', sourceRef, includedCredits: amount, periodDays: days, upgradedInPlace: false, actor: 'system:sim' }, opened);
        return 'opened' as const;
      }),
    );
    if (r.ok) {
      model.acked = true;
      count(report.outcomes, r.value === 'opened' ? 'plan.grant.ok' : 'plan.grant.ok.replayed');
    } else if ('error' in r) {
      violation(`plan grant answered ${r.error.code}`);
      count(report.outcomes, `plan.grant.${r.error.code}`);
    } else count(report.outcomes, 'plan.grant.unknown');
  }

  async function expireOnce(rng: () => number): Promise<void> {
    count(report.ops, 'plan.expire');
    const r = await withRetries(rng, (d) => expireDuePlanPeriods(d as Knex, undefined, int(rng, 1, 10)));
    if (r.ok) count(report.outcomes, r.value > 0 ? 'plan.expire.ok' : 'plan.expire.none');
    else if ('error' in r) violation(`plan expiry answered ${r.error.code}`);
    else count(report.outcomes, 'plan.expire.unknown');
  }

  async function client(ix: number): Promise<void> {
    const rng = prng(deriveSeed(seed, ix));
    const mine = separate.filter((_, i) => i % opts.clients === ix);
    const api = ix % 2 === 1 && Math.floor(ix / 2) < engineClients ? batched : direct;
    for (let op = 0; op < opts.opsPerClient && !stopping; op++) {
      if (Date.now() > deadline) break;
      const useShared = shared.length > 0 && (mine.length === 0 || rng() < sharedP);
      const walletId = useShared ? pick(rng, shared) : rng() < 0.85 ? pick(rng, mine) : pick(rng, separate);
      const r = rng();
      if (r < 0.12) await topUpOnce(rng, ix, walletId);
      else if (r < 0.15) await planPeriodOnce(rng, ix, walletId);
      else if (r < 0.17) await expireOnce(rng);
      else if (r < 0.20) {
        count(report.ops, 'getWallet');
        const w = await withRetries(rng, (d) => getWallet(d, walletId));
        if (w.ok && (w.value.balance < 0 || w.value.available < 0 || w.value.available > w.value.balance)) {
          violation(`getWallet answered ${JSON.stringify(w.value)}`);
        }
      } else await runOnce(rng, walletId, api);
    }
  }

  // Background: sweeper, auditor, chaos.
  const background: Promise<void>[] = [];
  background.push(
    (async () => {
      while (!stopping) {
        await sleep(opts.sweepEveryMs ?? 150);
        try {
          await expireReservations(db);
          await expireDuePlanPeriods(db);
        } catch {
          /* a killed connection; the next sweep retries */
        }
      }
    })(),
  );
  background.push(
    (async () => {
      while (!stopping) {
        await sleep(opts.auditEveryMs ?? 1000);
        if (stopping) break;
        try {
          const v = await checkInvariants(db, { partial: true });
          report.audits++;
          for (const x of v) violation(`[mid-run audit] ${x}`);
        } catch {
          /* killed; try again next time */
        }
      }
    })(),
  );
  if (opts.killConnections) {
    const { applicationName, everyMs } = opts.killConnections;
    const chaosRng = prng(deriveSeed(seed, 1_000_003));
    background.push(
      (async () => {
        while (!stopping) {
          await sleep(int(chaosRng, Math.ceil(everyMs / 2), Math.ceil(everyMs * 1.5)));
          if (stopping) break;
          try {
            const victims = await rows<{ pid: number }>(
              db,
              `select pid from pg_stat_activity
                where application_name = ? and pid <> pg_backend_pid() and datname = current_database()
                  and state in ('active', 'idle in transaction')`,
              [applicationName],
            );
            if (victims.length === 0) continue;
            const victim = pick(chaosRng, victims);
            await db.raw('select pg_terminate_backend(?)', [victim.pid]);
            report.faults.killed++;
          } catch {
            /* our own connection may be the one that died */
          }
        }
      })(),
    );
  }

  if (stall && shared.length > 0) {
    stuckWallet = shared[0]!;
    report.stall = { stalls: 0, busyAnswers: 0, otherWallets: { outsideP50: 0, outsideP99: 0, duringP50: 0, duringP99: 0 } };
    background.push(
      (async () => {
        while (!stopping) {
          await sleep(stall.everyMs);
          if (stopping) break;
          try {
            await db.transaction(async (trx) => {
              await trx.raw('select id from wallets where id = ? for update', [stuckWallet]);
              stalled = true;
              report.stall!.stalls++;
              await sleep(stall.holdMs);
            });
          } catch {
            /* killed by the chaos loop */
          } finally {
            stalled = false;
          }
        }
      })(),
    );
  }
  await Promise.all(Array.from({ length: opts.clients }, (_, i) => client(i)));
  if (report.stall) {
    const pct = (xs: number[], q: number) => (xs.length ? Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]! * 10) / 10 : 0);
    report.stall.busyAnswers = report.outcomes['settle.busy.voided'] ?? 0;
    report.stall.otherWallets = { outsideP50: pct(latency.outside, 0.5), outsideP99: pct(latency.outside, 0.99), duringP50: pct(latency.during, 0.5), duringP99: pct(latency.during, 0.99) };
  }
  stopping = true;
  Object.assign(report.engine, engine.stats);
  await Promise.all(background);
  log(`sim seed=${seed}: clients done after ${Date.now() - started} ms`);

  // Final checks, with open reservations still open…
  for (const v of await retryQuery(() => checkInvariants(db, { partial: false }))) violation(v);
  for (const v of await retryQuery(() => checkModel(db, reservations, topUps, allWallets))) violation(v);
  for (const v of await retryQuery(() => checkGrants(db, grants))) violation(v);
  // Every due period expires in the final sweep, once.
  while ((await retryQuery(() => expireDuePlanPeriods(db))) > 0);
  const due = await rows<{ n: number }>(db, `select count(*)::int as n from plan_periods where expired_at is null and period_end <= now()`);
  if (due[0]!.n !== 0) violation(`${due[0]!.n} due plan periods never expired`);
  // …and after every reservation has expired (the far-future sweep must release them all).
  const future = new Date(Date.now() + 3600_000);
  await retryQuery(() => expireReservations(db, { now: future }));
  for (const v of await retryQuery(() => checkInvariants(db, { partial: false }))) violation(`[after final sweep] ${v}`);
  if (gaveUp.size) {
    const charged = await rows<{ id: string }>(db, `select id from reservations where id = any(?) and status = 'settled'`, [[...gaveUp]]);
    for (const c of charged) violation(`run ${c.id} was reported uncharged (its settle gave up) but is settled`);
  }
  const leftover = await rows<{ n: number }>(db, `select count(*) as n from reservations where status = 'open'`);
  if (leftover[0].n !== 0) violation(`${leftover[0].n} reservations still open after the final sweep`);

  const totals = await rows<{ balance: number; debited: number }>(
    db,
    `select (select coalesce(sum(balance), 0)::bigint from wallets) as balance,
            (select coalesce(-sum(amount), 0)::bigint from ledger_entries where kind = 'debit') as debited`,
  );
  report.final.balance = totals[0].balance;
  report.final.debited = totals[0].debited;
  for (const r of await rows<{ status: string; n: number }>(db, `select status, count(*) as n from reservations group by status`)) {
    report.final.reservations[r.status] = r.n;
  }
  const pp = await rows<{ opened: number; expired: number; credits: number }>(db, `select count(*)::int as opened, count(expired_at)::int as expired, coalesce(sum(expired_credits), 0)::int as credits from plan_periods`);
  report.final.planPeriods = { opened: pp[0]!.opened, expired: pp[0]!.expired, expiredCredits: pp[0]!.credits };
  report.durationMs = Date.now() - started;
  return report;
}

async function retryQuery<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || err instanceof AppError) throw err;
      await sleep(50 * i);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// invariants

/**
 * Database invariants, read in ONE consistent snapshot (REPEATABLE READ), so they must hold at
 * any moment, not only at rest. `partial` keeps the mid-run audit light (skips per-row chains).
 */
export async function checkInvariants(db: Knex, opts: { partial?: boolean } = {}): Promise<string[]> {
  const v: string[] = [];
  await db.transaction(
    async (trx) => {
      const wallets = await rows<{
        id: string;
        balance: number;
        reserved: number;
        paid_balance: number;
        granted_balance: number;
        last_seq: number;
        ledger_sum: number;
        ledger_paid: number;
        ledger_granted: number;
        ledger_rows: number;
        ledger_max_seq: number;
        open_sum: number;
      }>(
        trx,
        `select w.id, w.balance, w.reserved, w.paid_balance, w.granted_balance, w.last_seq,
                coalesce(l.s, 0)::bigint as ledger_sum, coalesce(l.p, 0)::bigint as ledger_paid,
                coalesce(l.g, 0)::bigint as ledger_granted, coalesce(l.n, 0)::bigint as ledger_rows,
                coalesce(l.m, 0)::bigint as ledger_max_seq, coalesce(r.s, 0)::bigint as open_sum
           from wallets w
           left join (select wallet_id, sum(amount) s, sum(amount) filter (where credit_type = 'paid') p,
                             sum(amount) filter (where credit_type = 'granted') g, count(*) n, max(seq) m
                        from ledger_entries group by wallet_id) l on l.wallet_id = w.id
           left join (select wallet_id, sum(amount) s from reservations where status = 'open' group by wallet_id) r
                  on r.wallet_id = w.id`,
      );
      for (const w of wallets) {
        if (w.balance !== w.ledger_sum) v.push(`wallet ${w.id}: balance ${w.balance} ≠ sum(ledger) ${w.ledger_sum}`);
        if (w.balance < 0) v.push(`wallet ${w.id}: negative balance ${w.balance}`);
        if (w.paid_balance < 0 || w.granted_balance < 0) v.push(`wallet ${w.id}: negative split paid ${w.paid_balance} / granted ${w.granted_balance}`);
        if (w.paid_balance !== w.ledger_paid) v.push(`wallet ${w.id}: paid ${w.paid_balance} ≠ ledger ${w.ledger_paid}`);
        if (w.granted_balance !== w.ledger_granted) v.push(`wallet ${w.id}: granted ${w.granted_balance} ≠ ledger ${w.ledger_granted}`);
        if (w.reserved !== w.open_sum) v.push(`wallet ${w.id}: reserved ${w.reserved} ≠ sum(open reservations) ${w.open_sum}`);
        if (w.balance - w.reserved < 0) v.push(`wallet ${w.id}: available ${w.balance - w.reserved} < 0`);
        if (w.last_seq !== w.ledger_rows || w.ledger_max_seq !== w.ledger_rows) {
          v.push(`wallet ${w.id}: seqs not 1..n (last_seq ${w.last_seq}, rows ${w.ledger_rows}, max ${w.ledger_max_seq})`);
        }
      }
      // Reservations and their debits.
      const bad = await rows<{ id: string; status: string; problem: string }>(
        trx,
        `with d as (
           select reservation_id, count(*) n, count(distinct credit_type) types, -sum(amount) total,
                  (array_agg(id order by seq))[1] first_id
             from ledger_entries where kind = 'debit' group by reservation_id)
         select r.id, r.status,
                case
                  when r.status = 'settled' and d.n is null then 'settled without debit'
                  when r.status <> 'settled' and d.n is not null then 'debited but ' || r.status
                  when r.status = 'settled' and (d.n > 2 or d.n <> d.types) then 'more than one debit per credit type'
                  when r.status = 'settled' and d.total <> r.charged then 'debits ' || d.total || ' ≠ charged ' || r.charged
                  when r.status = 'settled' and d.first_id <> r.settled_entry_id then 'settled_entry_id is not the first debit'
                  when r.status = 'settled' and r.charged > r.requested then 'charged above requested'
                  when r.status = 'settled' and r.charged > r.amount then 'charged above the hold'
                  when r.status = 'settled' and r.overage <> (r.requested > r.amount or r.charged < r.requested) then 'overage flag wrong'
                  when (r.status = 'open') <> (r.resolved_at is null) then 'resolved_at inconsistent'
                end as problem
           from reservations r left join d on d.reservation_id = r.id`,
      );
      for (const b of bad) if (b.problem) v.push(`reservation ${b.id} (${b.status}): ${b.problem}`);
      const orphan = await rows<{ n: number }>(
        trx,
        `select count(*) as n from ledger_entries l where kind = 'debit'
           and not exists (select 1 from reservations r where r.id = l.reservation_id and r.status = 'settled')`,
      );
      if (orphan[0].n > 0) v.push(`${orphan[0].n} debit rows without a settled reservation`);
      // Plan periods: expired at most once, by at most what they granted, matching their expiry row.
      const periods = await rows<{ id: string; problem: string | null }>(
        trx,
        `with e as (select reference, count(*)::int n, -sum(amount)::bigint total, min(id) id, min(wallet_id) wallet_id, bool_and(credit_type = 'granted') granted
                      from ledger_entries where kind = 'expiry' group by reference)
         select p.id,
                case
                  when e.n > 1 then 'expired ' || e.n || ' times'
                  when p.expired_at is null and e.n is not null then 'expiry row but not expired'
                  when p.expired_credits > p.included_credits then 'expired more than it granted'
                  when p.expired_credits > 0 and (e.id is distinct from p.expiry_entry_id or e.total <> p.expired_credits or e.wallet_id <> p.wallet_id or not e.granted) then 'expiry row does not match'
                  when p.expired_credits = 0 and (p.expiry_entry_id is not null or e.n is not null) then 'nothing expired but an expiry row exists'
                end as problem
           from plan_periods p left join e on e.reference = 'plan-expiry:' || p.source_ref`,
      );
      for (const p of periods) if (p.problem) v.push(`plan period ${p.id}: ${p.problem}`);
      const totals = await rows<{ debited: number; charged: number }>(
        trx,
        `select (select coalesce(-sum(amount), 0)::bigint from ledger_entries where kind = 'debit') as debited,
                (select coalesce(sum(charged), 0)::bigint from reservations where status = 'settled') as charged`,
      );
      if (totals[0].debited !== totals[0].charged) {
        v.push(`double charge: sum(debits) ${totals[0].debited} ≠ sum(charged) ${totals[0].charged}`);
      }
      if (!opts.partial) {
        const chain = await rows<{ id: string; seq: number }>(
          trx,
          `select id, seq from (
             select id, seq, balance_after,
                    sum(amount) over (partition by wallet_id order by seq) as running
               from ledger_entries) x
            where balance_after <> running or balance_after < 0 limit 5`,
        );
        for (const c of chain) v.push(`ledger ${c.id} (seq ${c.seq}): balance_after breaks the running sum`);
      }
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
  return v;
}

/** What the clients were told must be what the database holds. */
async function checkModel(
  db: Knex,
  reservations: Map<string, ReservationModel>,
  topUps: Map<string, TopUpModel>,
  wallets: string[],
): Promise<string[]> {
  const v: string[] = [];
  const rs = await rows<{ id: string; status: string; settled_entry_id: string | null; charged: number | null; requested: number | null }>(
    db,
    `select id, status, settled_entry_id, charged, requested from reservations where wallet_id = any(?)`,
    [wallets],
  );
  const byId = new Map(rs.map((r) => [r.id, r]));
  for (const m of reservations.values()) {
    const r = byId.get(m.id);
    if (!r) {
      v.push(`acknowledged reservation ${m.id} is missing`);
      continue;
    }
    if (m.settle) {
      if (r.status !== 'settled') v.push(`acknowledged settle of ${m.id} but status ${r.status}`);
      else if (r.settled_entry_id !== m.settle.ledgerEntryId || r.charged !== m.settle.charged) {
        v.push(`acknowledged settle of ${m.id} (${m.settle.ledgerEntryId}, ${m.settle.charged}) ≠ db (${r.settled_entry_id}, ${r.charged})`);
      }
    }
    if (m.voided && r.status !== 'voided') v.push(`acknowledged void of ${m.id} but status ${r.status}`);
  }
  const credited = await rows<{ k: string; n: number; amount: number; wallet_id: string; id: string }>(
    db,
    `select metadata->>'simKey' as k, count(*) as n, sum(amount)::bigint as amount, min(wallet_id) as wallet_id, min(id) as id
       from ledger_entries where kind in ('topup', 'grant') and metadata->>'simKey' is not null
      group by metadata->>'simKey'`,
  );
  const seen = new Map(credited.map((c) => [c.k, c]));
  for (const m of topUps.values()) {
    const c = seen.get(m.key);
    const n = c?.n ?? 0;
    if (m.acked && n !== 1) v.push(`acknowledged top-up ${m.key} is in the ledger ${n} times`);
    if (!m.acked && n > 1) v.push(`unacknowledged top-up ${m.key} is in the ledger ${n} times`);
    if (c && (c.amount !== m.amount * c.n || c.wallet_id !== m.walletId)) v.push(`top-up ${m.key} credited ${c.amount} to ${c.wallet_id}`);
    if (c && m.acked && (m.body as { ledgerEntryId?: string } | undefined)?.ledgerEntryId !== c.id) {
      v.push(`top-up ${m.key} answered ${JSON.stringify(m.body)} but the ledger row is ${c.id}`);
    }
  }
  for (const c of credited) if (!topUps.has(c.k)) v.push(`ledger has a top-up ${c.k} no client sent`);
  return v;
}

/** Every acknowledged plan grant is in the ledger exactly once (unacknowledged: at most once). */
async function checkGrants(db: Knex, grants: Map<string, GrantModel>): Promise<string[]> {
  const v: string[] = [];
  const rowsOf = await rows<{ reference: string; n: number; amount: number; wallet_id: string }>(
    db,
    `select reference, count(*)::int as n, sum(amount)::bigint as amount, min(wallet_id) as wallet_id from ledger_entries where kind = 'grant' and reference like 'plan:sim:%' group by reference`,
  );
  const seen = new Map(rowsOf.map((r) => [r.reference.slice('plan:'.length), r]));
  for (const g of grants.values()) {
    const r = seen.get(g.sourceRef);
    const n = r?.n ?? 0;
    if (g.acked && g.amount > 0 && n !== 1) v.push(`acknowledged plan grant ${g.sourceRef} is in the ledger ${n} times`);
    if (n > 1) v.push(`plan grant ${g.sourceRef} is in the ledger ${n} times`);
    if (r && (Number(r.amount) !== g.amount || r.wallet_id !== g.walletId)) v.push(`plan grant ${g.sourceRef} credited ${r.amount} to ${r.wallet_id}`);
  }
  return v;
}
