/**
 * A plan's included credits, granted per purchased period and expired at its end.
 *
 * - **Grant.** Each paid plan order line (a purchase or a renewal) opens one period
 *   (`plan_periods`, unique by the order line) and grants the plan's `includedCredits` to the
 *   instance's wallet as their own `grant` ledger entry of `granted` credits, referenced
 *   `plan:<order line>` — the ledger's unique (wallet, reference) index makes a second grant for
 *   the same line impossible, whatever retries or races happen above it.
 * - **Expiry.** When the period ends, what is left of its grant leaves the wallet as an `expiry`
 *   entry (audited `wallet.credits_expired`). Granted credits are spent before paid ones
 *   (types.ts SPEND_ORDER), so what is left of a grant is at most the wallet's granted balance;
 *   and credits held by open reservations are not taken (the hold stays covered: reserved ≤
 *   balance). The amount is therefore min(included credits, granted balance, balance − reserved).
 *   The period row is marked in the same transaction, under the wallet's row lock: a period
 *   expires once.
 */
import type { Knex } from 'knex';
import { actorFromString, recordAudit } from '../audit';
import { one, type Db } from '../db/tx';
import { newId } from '../platform/ids';
import { nowOf, type MoneyDeps } from './types';
import { lockWallet, topUp, type TopUpResult } from './wallets';
import { suspendDepletedWallet } from './depletion';
import { lowBalanceSettings, noticeLowBalance } from './low-balance-notice';

export const DEFAULT_PERIOD_DAYS = 30;
const DAY_MS = 86_400_000;

export interface OpenPlanPeriodInput {
  instanceId: string;
  orgId: string;
  projectId: string;
  walletId: string;
  planId: string;
  /** The order line that paid for the period (unique). */
  sourceRef: string;
  includedCredits: number;
  periodDays?: number;
  /** The line moved an existing (trial) instance onto the plan instead of creating one. */
  upgradedInPlace: boolean;
  actor: string;
  requestId?: string | null;
}

export interface PlanPeriodRow {
  id: string;
  instance_id: string;
  org_id: string;
  wallet_id: string;
  plan_id: string;
  source_ref: string;
  included_credits: number | string;
  period_start: Date;
  period_end: Date;
  grant_entry_id: string | null;
  expiry_entry_id: string | null;
  expired_credits: number | string | null;
  expired_at: Date | null;
  upgraded_in_place: boolean;
}

export async function planPeriodOf(db: Db, sourceRef: string): Promise<PlanPeriodRow | undefined> {
  return one<PlanPeriodRow>(db, 'select * from plan_periods where source_ref = ?', [sourceRef]);
}

/**
 * Opens the period a paid order line bought and grants its included credits, on the caller's
 * transaction (the order line's). Returns the period and the grant (none for 0 credits).
 */
export async function openPlanPeriod(trx: Knex.Transaction, input: OpenPlanPeriodInput, deps?: MoneyDeps): Promise<{ period: PlanPeriodRow; grant?: TopUpResult }> {
  const start = nowOf(deps);
  const end = new Date(start.getTime() + (input.periodDays ?? DEFAULT_PERIOD_DAYS) * DAY_MS);
  const reference = `plan:${input.sourceRef}`;
  let grant: TopUpResult | undefined;
  if (input.includedCredits > 0) {
    grant = await topUp(
      trx,
      {
        walletId: input.walletId,
        amount: input.includedCredits,
        creditType: 'granted',
        reference,
        metadata: { source: 'plan', planId: input.planId, instanceId: input.instanceId, periodStart: start.toISOString(), periodEnd: end.toISOString(), actor: input.actor },
      },
      deps,
    );
    await recordAudit(trx, {
      orgId: input.orgId,
      projectId: input.projectId,
      action: 'wallet.plan_credits_granted',
      resourceType: 'wallet',
      resourceId: input.walletId,
      actor: actorFromString(input.actor),
      requestId: input.requestId,
      data: { walletId: input.walletId, instanceId: input.instanceId, planId: input.planId, ledgerEntryId: grant.ledgerEntryId, amount: grant.amount, creditType: 'granted', reference, periodEnd: end.toISOString(), balanceAfter: grant.wallet.balance },
      at: start,
    });
  }
  const [period] = (await trx('plan_periods')
    .insert({
      id: newId('pp', start.getTime()),
      instance_id: input.instanceId,
      org_id: input.orgId,
      wallet_id: input.walletId,
      plan_id: input.planId,
      source_ref: input.sourceRef,
      included_credits: input.includedCredits,
      period_start: start,
      period_end: end,
      grant_entry_id: grant?.ledgerEntryId ?? null,
      upgraded_in_place: input.upgradedInPlace,
      created_at: start,
    })
    .returning('*')) as PlanPeriodRow[];
  return { period: period!, ...(grant ? { grant } : {}) };
}

export interface ExpiredPeriod {
  periodId: string;
  walletId: string;
  expired: number;
  ledgerEntryId: string | null;
}

/** Expires one period if it is due and not yet expired (its own transaction, wallet locked). */
export async function expirePlanPeriod(db: Knex, periodId: string, deps?: MoneyDeps): Promise<ExpiredPeriod | undefined> {
  return db.transaction(async (trx) => {
    const peek = await one<{ wallet_id: string }>(trx, 'select wallet_id from plan_periods where id = ?', [periodId]);
    if (!peek) return undefined;
    // Wallet first, then the period: the order every money path locks in.
    const w = await lockWallet(trx, peek.wallet_id);
    const now = nowOf(deps);
    const p = await one<PlanPeriodRow & { project_id: string | null; effective_config: Record<string, Record<string, unknown>> | null }>(
      trx,
      `select pp.*, i.project_id, i.effective_config from plan_periods pp join instances i on i.id = pp.instance_id where pp.id = ? for update of pp`,
      [periodId],
    );
    if (!p || p.expired_at || p.period_end > now) return undefined;
    const left = Math.max(0, Math.min(Number(p.included_credits), Number(w.granted_balance), Number(w.balance) - Number(w.reserved)));
    let entryId: string | null = null;
    if (left > 0) {
      entryId = newId('led', now.getTime());
      await trx.raw(
        `with u as (
           update wallets set balance = balance - ?, granted_balance = granted_balance - ?,
                  last_seq = last_seq + 1, version = version + 1, updated_at = ?
            where id = ? returning *)
         insert into ledger_entries (id, wallet_id, seq, kind, credit_type, amount, balance_after, reference, metadata, created_at)
         select ?, u.id, u.last_seq, 'expiry', 'granted', ?, u.balance, ?, ?::jsonb, ? from u`,
        [left, left, now, w.id, entryId, -left, `plan-expiry:${p.source_ref}`, JSON.stringify({ source: 'plan', planId: p.plan_id, instanceId: p.instance_id, periodId: p.id, periodEnd: p.period_end.toISOString() }), now],
      );
    }
    await trx('plan_periods').where({ id: p.id }).update({ expired_at: now, expired_credits: left, expiry_entry_id: entryId });
    await recordAudit(trx, {
      orgId: p.org_id,
      projectId: p.project_id,
      action: 'wallet.credits_expired',
      resourceType: 'wallet',
      resourceId: w.id,
      actor: { type: 'system', id: 'control-plane' },
      data: { walletId: w.id, instanceId: p.instance_id, planId: p.plan_id, periodId: p.id, included: Number(p.included_credits), expired: left, ledgerEntryId: entryId, balanceAfter: Number(w.balance) - left },
      at: now,
    });
    if (left > 0) {
      await noticeLowBalance(trx, lowBalanceSettings(w.low_balance_threshold, p.effective_config), {
        orgId: p.org_id, projectId: p.project_id, walletId: w.id, instanceId: p.instance_id, before: Number(w.balance), after: Number(w.balance) - left, version: w.version + 1, cause: 'expiry', at: now,
      });
      // An expiry that empties the wallet takes its `depletionPolicy: suspend` instances off the gateway, as a charge does.
      if (Number(w.balance) - left === 0) await suspendDepletedWallet(trx, w.id, now);
    }
    return { periodId: p.id, walletId: w.id, expired: left, ledgerEntryId: entryId };
  });
}

/** Expires every period whose end has passed (up to `limit` per call); returns how many. */
export async function expireDuePlanPeriods(db: Knex, deps?: MoneyDeps, limit = 100): Promise<number> {
  const due: { id: string }[] = await db('plan_periods').select('id').whereNull('expired_at').where('period_end', '<=', nowOf(deps)).orderBy('period_end').limit(limit);
  let n = 0;
  for (const { id } of due) if (await expirePlanPeriod(db, id, deps)) n++;
  return n;
}
