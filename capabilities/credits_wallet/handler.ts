import { creditsWalletMeta as meta, type CreditsWalletHandler } from '../../generated/capabilities/credits-wallet';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/**
 * Credits wallet. Semantic rule: the budget reserved before a run (estimatedBudgetPerRun) does not
 * exceed what a run may cost (maxCreditsPerRun).
 * Desired state: a GatewayPolicy of scope `instance` with the credit budget and depletion policy
 * the Gateway enforces on every run. Not metered itself (runs are metered by the capabilities
 * they use).
 */
export const creditsWallet: CreditsWalletHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    if (config.estimatedBudgetPerRun !== undefined && config.maxCreditsPerRun !== undefined && config.estimatedBudgetPerRun > config.maxCreditsPerRun) {
      issues.push({ path: pointer('estimatedBudgetPerRun'), message: `must not exceed maxCreditsPerRun (${config.maxCreditsPerRun})` });
    }
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    return [
      instanceObject(ctx, meta.id, 'GatewayPolicy', {
        spec: {
          instanceId: ctx.instanceId,
          scope: 'instance',
          credits: {
            estimatedBudgetPerRun: c.estimatedBudgetPerRun!,
            maxCreditsPerRun: c.maxCreditsPerRun!,
            depletionPolicy: c.depletionPolicy!,
            lowBalanceThreshold: c.lowBalanceThreshold!,
            notifyOnLowBalance: c.notifyOnLowBalance!,
          },
        },
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
