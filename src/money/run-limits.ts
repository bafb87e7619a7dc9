/**
 * The limits of one run, from an instance's effective config and plan — one function, read by the
 * Control Plane when it admits a run (authorizeRun) and by the entitlements the Gateway caches.
 *
 * How the credit fields relate (none of them inert, and a starter wallet still runs):
 * - `maxCreditsPerRun` is the **hold**: the most one run may cost. The hold is capped by the
 *   wallet's available credits; a settle never charges more than the hold, and the Runner is told
 *   `maxOutputTokens` so the run stops before it would cost more (it is cut off).
 * - `estimatedBudgetPerRun` is what a typical run costs: under `depletionPolicy: block` (the
 *   default) and `suspend`, a run starts only when at least that much is available (else 403
 *   INSUFFICIENT_CREDITS with `requiredBudget` = it), so runs are refused rather than started on a
 *   hold that would cut them off at once. A starter wallet runs as long as it holds a typical run.
 * - `allow_overage` lets runs go past that estimate down to the last credit: a run starts with
 *   any available credit and is cut off at what is left (never below zero).
 */
export type DepletionPolicy = 'block' | 'allow_overage' | 'suspend';

export interface RunLimits {
  estimatedBudgetPerRun: number;
  maxCreditsPerRun: number;
  depletionPolicy: DepletionPolicy;
  /** Plan limits (absent: unlimited). */
  maxRunsPerDay?: number;
  maxConcurrentRuns?: number;
  /** Session turns sent to the runtime with each run (prompt_orchestrator.historyTurns). */
  historyTurns: number;
  /** Days the input and output of runs (and so the session turns) are kept (chat_ui.sessionRetentionDays). */
  retentionDays: number;
}

/** Registry defaults, used when the offering has no credits_wallet / prompt_orchestrator / chat_ui. */
export const RUN_LIMIT_DEFAULTS = { estimatedBudgetPerRun: 25, maxCreditsPerRun: 500, historyTurns: 10, retentionDays: 30 } as const;

type Cfg = Record<string, Record<string, unknown> | undefined>;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function runLimitsOf(config: Cfg, plan?: { limits?: { maxRunsPerDay?: number; maxConcurrentRuns?: number } }): RunLimits {
  const wallet = config.credits_wallet ?? {};
  const estimated = Math.max(1, Math.floor(num(wallet.estimatedBudgetPerRun) ?? RUN_LIMIT_DEFAULTS.estimatedBudgetPerRun));
  const policy = wallet.depletionPolicy === 'allow_overage' || wallet.depletionPolicy === 'suspend' ? wallet.depletionPolicy : 'block';
  const limits: RunLimits = {
    estimatedBudgetPerRun: estimated,
    // A maximum below the estimate would refuse every run; the estimate then is the maximum.
    maxCreditsPerRun: Math.max(estimated, Math.floor(num(wallet.maxCreditsPerRun) ?? RUN_LIMIT_DEFAULTS.maxCreditsPerRun)),
    depletionPolicy: policy,
    historyTurns: Math.max(0, Math.floor(num(config.prompt_orchestrator?.historyTurns) ?? RUN_LIMIT_DEFAULTS.historyTurns)),
    retentionDays: Math.max(0, Math.floor(num(config.chat_ui?.sessionRetentionDays) ?? RUN_LIMIT_DEFAULTS.retentionDays)),
  };
  if (plan?.limits?.maxRunsPerDay !== undefined) limits.maxRunsPerDay = plan.limits.maxRunsPerDay;
  if (plan?.limits?.maxConcurrentRuns !== undefined) limits.maxConcurrentRuns = plan.limits.maxConcurrentRuns;
  return limits;
}

/** The credits a run needs available to start: the estimate under block/suspend, 1 under allow_overage. */
export function admissionFloor(l: RunLimits): number {
  return l.depletionPolicy === 'allow_overage' ? 1 : l.estimatedBudgetPerRun;
}

/** The hold of a run given the wallet's available credits; undefined when the run may not start. */
export function holdFor(l: RunLimits, available: number): number | undefined {
  const hold = Math.min(l.maxCreditsPerRun, available);
  return hold >= admissionFloor(l) && hold >= 1 ? hold : undefined;
}
