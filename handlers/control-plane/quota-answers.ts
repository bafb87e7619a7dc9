/** The API shapes of the credit-quota operations' answers (src/money/quotas.ts). */
import type { QuotaView } from '../../src/money/quotas';

export function quotaBody(q: QuotaView) {
  return {
    quotaId: q.quotaId,
    instanceId: q.instanceId,
    walletId: q.walletId,
    holder: q.holder,
    amount: q.amount,
    added: q.added,
    status: q.status,
    useUntil: q.useUntil.toISOString(),
    expiresAt: q.expiresAt.toISOString(),
    ...(q.limits
      ? {
          limits: {
            maxCreditsPerRun: q.limits.maxCreditsPerRun,
            estimatedBudgetPerRun: q.limits.estimatedBudgetPerRun,
            depletionPolicy: q.limits.depletionPolicy,
            ...(q.limits.maxConcurrentRuns !== undefined ? { maxConcurrentRuns: q.limits.maxConcurrentRuns } : {}),
            historyTurns: q.limits.historyTurns,
            retentionDays: q.limits.retentionDays,
          },
        }
      : {}),
    balance: q.balance,
    available: q.available,
  };
}
