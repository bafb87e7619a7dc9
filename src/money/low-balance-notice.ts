/**
 * Low-balance notifications: when a change to a wallet (a run's settle, a plan period's expiry)
 * takes its balance from at or above the low-balance threshold to below it, the org is notified
 * (`wallet.low_balance`, src/notifications) in the same transaction — once per crossing: further
 * charges while it stays low cross nothing, and a credit that lifts it back above re-arms it.
 *
 * The threshold is the wallet's own (`PATCH /wallets/{id}`) when set, else the instance's
 * `credits_wallet.lowBalanceThreshold` (registry default 100; plan and buyer layers apply);
 * `credits_wallet.notifyOnLowBalance: false` turns the notification off for that instance's
 * charges (the `wallet.low_balance` audit event stays).
 */
import { withDefaults } from '../capabilities/config-defaults';
import type { Db } from '../db/tx';
import { notifyOrg } from '../notifications/outbox';

type Cfg = Record<string, Record<string, unknown> | undefined> | null | undefined;

export interface LowBalanceSettings {
  threshold: number | null;
  notify: boolean;
}

/** The threshold and switch that apply to a charge made for an instance with this effective config. */
export function lowBalanceSettings(walletThreshold: number | null, config: Cfg): LowBalanceSettings {
  const own = config?.credits_wallet;
  const cw = own ? withDefaults('credits_wallet', own) : undefined;
  const fromConfig = typeof cw?.lowBalanceThreshold === 'number' ? cw.lowBalanceThreshold : null;
  return { threshold: walletThreshold ?? fromConfig, notify: cw ? cw.notifyOnLowBalance !== false : walletThreshold !== null };
}

/** True when `before → after` goes from not-low to low against `threshold`. */
export function crossesDown(before: number, after: number, threshold: number | null): threshold is number {
  return threshold !== null && before >= threshold && after < threshold;
}

export interface LowBalanceChange {
  orgId: string;
  projectId: string | null;
  walletId: string;
  instanceId: string | null;
  before: number;
  after: number;
  /** The wallet's version after the change: names the crossing (dedupe key). */
  version: number;
  cause: 'settle' | 'expiry';
  at: Date;
}

/** Enqueues the org's `wallet.low_balance` notification when the change crossed its threshold. */
export async function noticeLowBalance(trx: Db, settings: LowBalanceSettings, c: LowBalanceChange): Promise<boolean> {
  if (!settings.notify || !crossesDown(c.before, c.after, settings.threshold)) return false;
  await notifyOrg(trx, {
    orgId: c.orgId,
    kind: 'wallet.low_balance',
    dedupeKey: `wallet.low_balance:${c.walletId}:${c.version}`,
    at: c.at,
    data: { walletId: c.walletId, orgId: c.orgId, projectId: c.projectId, instanceId: c.instanceId, balance: c.after, previousBalance: c.before, threshold: settings.threshold, cause: c.cause },
  });
  return true;
}
