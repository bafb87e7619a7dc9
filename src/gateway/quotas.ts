/**
 * The gateway's credit quotas: online charging after the Diameter credit-control model
 * (RFC 4006 §5, Gy). Per instance this replica holds one quota — a block of the wallet's credits
 * held for it by the Control Plane (src/money/quotas.ts) — and admits runs against it locally:
 *
 *   take    → the run's hold (a full maxCreditsPerRun, as the ordinary path gives while the
 *             wallet has it: run-limits.ts, the Control Plane's own rule) comes out of the quota
 *             in memory: no Control Plane call, no commit. Less than that left, no quota yet, or
 *             its validity over → undefined: the run is admitted the ordinary way (authorize).
 *   renew   → asked in the background (CCR-Update) when less than half a block is left or half
 *             the validity has passed, so runs never wait for it; the Control Plane checks the
 *             instance again each time (pause, EOL, revocation → the quota is released).
 *   charge  → each run's used units are reported before its answer (the charge is synchronous
 *             and durable), which shrinks the quota by the charge (`settled`), or the hold just
 *             comes back (`released`) when the run was not charged.
 *   close   → in-flight runs are awaited (bounded), then every quota is released (CCR-Termination).
 *
 * Bounds: a replica admits runs on a quota only until its `useUntil` (validity, default 5 s),
 * measured from when it asked — so a pause, an EOL or a revoked entitlement stops its runs within
 * that time (the entitlements cache has the same 5 s bound). A replica that crashes leaves its
 * quotas held until their `expiresAt` (validity + 120 s, the same as a run's hold), then they
 * lapse and their credits return; runs it had answered were charged before their answers.
 *
 * Local accounting uses deltas only (a renewal's `added`, a charge's `creditsCharged`), so
 * answers arriving in any order converge on the Control Plane's amount; a renewal never asks for
 * less than the quota already holds here, so the local view never exceeds what is held there.
 */
import { randomBytes } from 'node:crypto';
import type { CreditQuota } from '../../generated/control-plane/types';
import { holdFor, type RunLimits } from '../money/run-limits';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import type { ControlPlaneClient } from './cp-client';

export interface QuotaOptions {
  /** Runs' worth of credits (maxCreditsPerRun each) asked for per block. */
  blockRuns?: number;
  validitySeconds?: number;
  /** How long after a refused grant (not enough credits, a daily limit) the instance is admitted run by run before asking again. */
  retryAfterMs?: number;
  now?: () => number;
}

/** A run's hold, taken from a quota. */
export interface QuotaHold {
  quotaId: string;
  holder: string;
  hold: number;
  /** The run was charged `charged` credits (its answer came back). */
  settled(charged: number): void;
  /** The run ended uncharged, or its charge went elsewhere: the hold comes back. */
  released(): void;
  /** The Control Plane no longer has this quota (expired, released): stop using it. */
  lost(): void;
}

interface Local {
  quotaId: string;
  amount: number;
  inFlight: number;
  runs: number;
  grantedAt: number;
  useUntil: number;
  limits: RunLimits;
  renewing: boolean;
  dead: boolean;
}

export interface QuotaManager {
  readonly holder: string;
  take(instanceId: string, maxCreditsPerRun: number): QuotaHold | undefined;
  /** Stops admitting runs on the instance's quota (an entitlement change seen here). */
  drop(instanceId: string): void;
  stats(): { quotas: number; grants: number; renewals: number; taken: number; fallbacks: number };
  close(timeoutMs?: number): Promise<void>;
}

export function createQuotaManager(cp: ControlPlaneClient, log: Logger, o: QuotaOptions = {}): QuotaManager {
  const holder = `gw-${randomBytes(6).toString('hex')}`;
  const blockRuns = Math.max(1, o.blockRuns ?? 32);
  const validitySeconds = o.validitySeconds ?? 5;
  const retryAfterMs = o.retryAfterMs ?? 5_000;
  const now = o.now ?? Date.now;
  const quotas = new Map<string, Local>();
  const asking = new Map<string, Promise<void>>();
  const refusedUntil = new Map<string, number>();
  const counters = { grants: 0, renewals: 0, taken: 0, fallbacks: 0 };
  let closing = false;

  const limitsOf = (q: CreditQuota): RunLimits => ({
    maxCreditsPerRun: q.limits!.maxCreditsPerRun,
    estimatedBudgetPerRun: q.limits!.estimatedBudgetPerRun,
    depletionPolicy: q.limits!.depletionPolicy,
    historyTurns: q.limits!.historyTurns ?? 0,
    retentionDays: q.limits!.retentionDays ?? 0,
  });

  function grant(instanceId: string, maxCreditsPerRun: number): void {
    if (asking.has(instanceId) || closing) return;
    const asked = now();
    const p = cp.quotas.grant({ instanceId, holder, credits: maxCreditsPerRun * blockRuns, validitySeconds }, { requestId: `quota-${instanceId}` })
      .then((q) => {
        counters.grants++;
        // Validity counts from when it was asked: never later than the Control Plane's own.
        quotas.set(instanceId, { quotaId: q.quotaId, amount: q.amount, inFlight: 0, runs: 0, grantedAt: asked, useUntil: asked + validitySeconds * 1000, limits: limitsOf(q), renewing: false, dead: false });
      })
      .catch((err: unknown) => {
        refusedUntil.set(instanceId, now() + retryAfterMs);
        const code = err instanceof AppError ? err.code : 'INTERNAL';
        if (code !== 'INSUFFICIENT_CREDITS' && code !== 'CONFLICT') log.warn({ err, instanceId }, 'credit quota not granted; runs are admitted one by one');
      })
      .finally(() => asking.delete(instanceId));
    asking.set(instanceId, p);
  }

  function renew(instanceId: string, q: Local): void {
    if (q.renewing || q.dead || closing) return;
    q.renewing = true;
    const asked = now();
    // Never less than it holds here: answers in flight can only have made it smaller there.
    const credits = Math.max(q.amount, q.inFlight + q.limits.maxCreditsPerRun * blockRuns);
    const p = cp.quotas.renew(q.quotaId, { holder, credits, validitySeconds }, { requestId: `quota-${q.quotaId}` })
      .then((r) => {
        counters.renewals++;
        q.amount += r.added;
        q.useUntil = asked + validitySeconds * 1000;
        if (r.limits) q.limits = limitsOf(r);
      })
      .catch((err: unknown) => {
        // Expired, released, or the instance may no longer run: this quota is finished here.
        if (err instanceof AppError && err.status < 500) {
          q.dead = true;
          if (quotas.get(instanceId) === q) quotas.delete(instanceId);
          if (err.code !== 'RESERVATION_EXPIRED') refusedUntil.set(instanceId, now() + retryAfterMs);
        } else log.warn({ err, quotaId: q.quotaId }, 'credit quota not renewed; it lapses at its validity unless a later renewal succeeds');
      })
      .finally(() => {
        q.renewing = false;
        asking.delete(`renew:${q.quotaId}`);
      });
    asking.set(`renew:${q.quotaId}`, p);
  }

  return {
    holder,
    take(instanceId, maxCreditsPerRun) {
      if (closing) return undefined;
      const q = quotas.get(instanceId);
      const t = now();
      if (!q || q.dead || t >= q.useUntil) {
        if (q && !q.dead && !q.renewing) renew(instanceId, q);
        else if (!q && (refusedUntil.get(instanceId) ?? 0) <= t) grant(instanceId, maxCreditsPerRun);
        counters.fallbacks++;
        return undefined;
      }
      const free = q.amount - q.inFlight;
      const block = q.limits.maxCreditsPerRun * blockRuns;
      // Only a full hold comes from a quota: a run on a wallet near its end gets the exact hold
      // (and refusal, and suspension) of the ordinary path.
      const hold = free >= q.limits.maxCreditsPerRun ? holdFor(q.limits, free) : undefined;
      if (hold === undefined) {
        renew(instanceId, q);
        counters.fallbacks++;
        return undefined;
      }
      q.inFlight += hold;
      q.runs++;
      counters.taken++;
      if (free - hold < block / 2 || t - q.grantedAt > (validitySeconds * 1000) / 2) {
        q.grantedAt = t;
        renew(instanceId, q);
      }
      let done = false;
      const finish = (charged: number) => {
        if (done) return;
        done = true;
        q.inFlight -= hold;
        q.amount -= charged;
      };
      return {
        quotaId: q.quotaId,
        holder,
        hold,
        settled: (charged) => finish(charged),
        released: () => finish(0),
        lost: () => {
          q.dead = true;
          if (quotas.get(instanceId) === q) quotas.delete(instanceId);
        },
      };
    },
    drop(instanceId) {
      const q = quotas.get(instanceId);
      if (q) {
        q.dead = true;
        quotas.delete(instanceId);
        if (q.inFlight === 0) void cp.quotas.release(q.quotaId, holder, { requestId: `quota-${q.quotaId}` }).catch(() => undefined);
      }
    },
    stats: () => ({ quotas: quotas.size, ...counters }),
    async close(timeoutMs = 5_000) {
      closing = true;
      await Promise.allSettled([...asking.values()]);
      const deadline = now() + timeoutMs;
      while ([...quotas.values()].some((q) => q.inFlight > 0) && now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const all = [...quotas.values()];
      quotas.clear();
      await Promise.allSettled(all.map((q) => cp.quotas.release(q.quotaId, holder, { requestId: `quota-${q.quotaId}` }).catch((err: unknown) => {
        log.warn({ err, quotaId: q.quotaId }, 'credit quota not released; it lapses at its expiry');
      })));
    },
  };
}
