import type { CreditsWalletHandler } from '../../generated/capabilities/credits-wallet';

/**
 * Credits wallet: Charges runs in credits from the org's wallet with a per-run budget, a low-balance warning and a depletion policy.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const creditsWallet: CreditsWalletHandler = {
  validate(config) {
    throw new Error('credits_wallet: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('credits_wallet: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('credits_wallet: meter not implemented');
  },
};
