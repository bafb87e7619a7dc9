/**
 * A paid Saleor order line, applied by the control plane (`POST /integrations/saleor/order-paid`,
 * called by the Provisioner once per line with `Idempotency-Key: saleor:<instance tag>:<orderId>:<lineId>`,
 * the instance being the Saleor that sold it: `saleorApiUrl`, see saleor-keys.ts).
 *
 * Everything here runs on the caller's transaction — the idempotency wrapper's — so the key and
 * every effect (a buyer's workspace, the instance, the top-up) commit together or not at all.
 * A refusal (any thrown AppError) therefore stores nothing, the key included: a line refused for
 * its content (version not published yet, buyer not in the named org) can be sent again with the
 * same key once the cause is fixed (an operator replaying the Provisioner's dead letter).
 *
 * **Where the line goes (the buyer).**
 * - `buyer.orgId` / `buyer.projectId` (order metadata, which the buyer can write at checkout):
 *   the project (or the org's default project) must exist, agree with each other, and the buyer
 *   must be a member of that org with at least the `member` role — by `buyer.userId` when given,
 *   else by an account holding `buyer.email` verified (or the email's pending user). Anything
 *   else is 422: nobody provisions into, or tops up, a workspace they do not belong to.
 * - otherwise the buyer's personal workspace, created exactly as `POST /orgs/auto` does
 *   (`createOrgAuto`: org, default project, owner membership, wallet with the starter grant) when
 *   they have none. The buyer is `buyer.userId` (a Keycloak subject; its `users` row is created
 *   ahead of sign-in if needed, as adding a member by subject does), else the account that holds
 *   `buyer.email` *verified*, else the email's pending user (src/tenancy/users.ts): their first
 *   sign-in with that verified email then owns the workspace.
 *
 * **What the line is.**
 * - `instance`: the plan `planId` of `offeringVersionId` (the version certified, its offering
 *   published, the plan offered — else 422, an unknown version included). When the buyer already
 *   runs that offering on a trial plan in the line's project (active or paused), the line
 *   upgrades that instance in place (version and plan; no second instance); otherwise it creates
 *   one, source `saleor`, sourceRef `<instance tag>:<orderId>:<lineId>`. Either way it opens the
 *   purchased period and grants the plan's included credits once (src/money/plan-credits.ts;
 *   the period is unique by the line, so a redelivered line finds it). A plan line buys exactly
 *   one instance: quantity > 1 is refused with 422 (the answer carries one instance, and silently
 *   provisioning N agents from one line is a surprise; the storefront sells plan variants with
 *   quantity 1).
 * - `credit_pack`: `creditsAmount × quantity` **paid** credits on the workspace's wallet, ledger
 *   reference = the line's key `saleor:<instance tag>:<orderId>:<lineId>` (a wallet takes each
 *   reference once).
 * Both effects are also unique by their own references, so even past the key's lifetime (7 days)
 * a redelivered line answers the first effect instead of creating a second one.
 */
import type { OrderPaidRequest, OrderPaidResult, Plan, Topup } from '../../generated/control-plane/types';
import { one } from '../db/tx';
import { orderLineKey, orderLineSourceRef } from './saleor-keys';
import { toInstance, type InstanceRow } from '../instances/rows';
import { actorFromString, recordAudit } from '../audit';
import { applyAction, createInstanceRecord, type InstancesEnv } from '../instances/service';
import { instantiableVersion, type InstantiableVersion } from '../instances/versions';
import { lockInstance } from '../instances/events';
import { ACTION_FROM } from '../instances/lifecycle';
import { isTrialPlan } from '../instances/plans';
import { openPlanPeriod, planPeriodOf } from '../money/plan-credits';
import { nowOf, type MoneyDeps } from '../money/types';
import { getWallet, topUp } from '../money/wallets';
import { AppError } from '../platform/errors';
import type { Wire } from '../platform/http/wire';
import { createOrgAuto } from '../tenancy/orgs';
import { isOrgRole, roleSatisfies } from '../tenancy/roles';
import { ensurePendingUser, findUser, findVerifiedUserByEmail, isPendingSubject, lockEmail, principalOfUser, type UserRow } from '../tenancy/users';
import type { Knex } from 'knex';

export interface OrderPaidEnv {
  instances: InstancesEnv;
  money?: MoneyDeps;
}

export interface OrderPaidOptions {
  /** The request's Idempotency-Key; must be `saleor:<instance tag>:<orderId>:<lineId>` (saleor-keys.ts). */
  idempotencyKey: string;
  /** Who applies the line (the Provisioner's service subject), for the records. */
  actor: string;
  /** The request applying it (recorded in the audit events). */
  requestId?: string | null;
}

export type OrderPaidAnswer = Wire<OrderPaidResult>;


const unprocessable = (message: string, details?: Record<string, unknown>) => new AppError('UNPROCESSABLE', message, details);

/** Applies one paid order line on `trx` and answers what it created (or had created). */
export async function applyOrderPaid(trx: Knex.Transaction, env: OrderPaidEnv, line: OrderPaidRequest, opts: OrderPaidOptions): Promise<OrderPaidAnswer> {
  checkLine(line, opts.idempotencyKey);
  return line.kind === 'instance' ? applyPlanLine(trx, env, line, opts) : applyCreditPackLine(trx, env, line, opts);
}

function checkLine(line: OrderPaidRequest, key: string): void {
  const expected = orderLineKey(line.saleorApiUrl, line.orderId, line.lineId);
  if (key !== expected) {
    throw new AppError('VALIDATION_FAILED', 'The Idempotency-Key of an order line must be saleor:<instance tag>:<orderId>:<lineId>', { field: 'Idempotency-Key', expected });
  }
  const quantity = line.quantity ?? 1;
  if (line.kind === 'instance') {
    if (line.creditsAmount !== undefined) throw unprocessable('creditsAmount belongs to credit_pack lines', { field: 'creditsAmount' });
    for (const field of ['offeringVersionId', 'planId'] as const) {
      if (line[field] === undefined) throw unprocessable(`${field} is required for an instance line`, { field });
    }
    if (quantity !== 1) {
      throw unprocessable('A plan line buys one instance; sell plan variants with quantity 1 (or one line per instance)', { field: 'quantity', quantity });
    }
  } else {
    if (line.creditsAmount === undefined) throw unprocessable('creditsAmount is required for a credit_pack line', { field: 'creditsAmount' });
    for (const field of ['offeringVersionId', 'planId'] as const) {
      if (line[field] !== undefined) throw unprocessable(`${field} belongs to instance lines`, { field });
    }
  }
}

async function applyPlanLine(trx: Knex.Transaction, env: OrderPaidEnv, line: OrderPaidRequest, opts: OrderPaidOptions): Promise<OrderPaidAnswer> {
  const sourceRef = orderLineSourceRef(line.saleorApiUrl, line.orderId, line.lineId);
  const prior: InstanceRow | undefined = await trx('instances').where({ source: 'saleor', source_ref: sourceRef }).first();
  if (prior) return planAnswer(env, line, prior, false);
  // A line that upgraded a trial in place left its mark on its period, not on an instance row.
  const priorPeriod = await planPeriodOf(trx, sourceRef);
  if (priorPeriod) return planAnswer(env, line, (await trx('instances').where({ id: priorPeriod.instance_id }).first())!, false);

  const versionId = line.offeringVersionId!;
  const planId = line.planId!;
  let v: InstantiableVersion;
  try {
    v = await instantiableVersion(trx, versionId, planId, 'create');
  } catch (err) {
    // An order line naming no version is bad line content, like an unpublished one.
    if (err instanceof AppError && err.code === 'NOT_FOUND') throw unprocessable('The order line names no known offering version', { field: 'offeringVersionId', offeringVersionId: versionId });
    throw err;
  }
  const target = await resolveBuyer(trx, env, line.buyer);
  const trial = await trialToUpgrade(trx, target, v.offeringId);
  const row = trial && trial.version_id === versionId && trial.plan_id === planId
    ? trial // bought the very plan it runs on: the purchase only adds its period
    : trial
    ? await applyAction(env.instances, trx, trial.id, {
        action: 'upgrade',
        targetVersionId: versionId,
        planId,
        planBy: 'purchase',
        actor: opts.actor,
        requestId: opts.requestId,
        reason: `purchase ${sourceRef}`,
      })
    : await createInstanceRecord(env.instances, trx, {
        orgId: target.orgId,
        projectId: target.projectId,
        walletId: target.walletId,
        versionId,
        planId,
        planBy: 'purchase',
        source: 'saleor',
        sourceRef,
        actor: opts.actor,
        requestId: opts.requestId,
      });
  await openPlanPeriod(
    trx,
    {
      instanceId: row.id,
      orgId: row.org_id,
      projectId: row.project_id,
      walletId: row.wallet_id,
      planId,
      sourceRef,
      includedCredits: v.plan.includedCredits,
      periodDays: v.plan.periodDays,
      upgradedInPlace: !!trial,
      actor: opts.actor,
      requestId: opts.requestId,
    },
    env.money,
  );
  return planAnswer(env, line, row, target.workspaceCreated);
}

/**
 * The buyer's running trial of the offering, if any: an instance in the line's project on a
 * trial plan that can be upgraded (active or paused). Locked, and re-checked under the lock, so
 * two lines racing for one trial upgrade it once (the other line gets its own instance).
 */
async function trialToUpgrade(trx: Knex.Transaction, target: BuyerTarget, offeringId: string): Promise<InstanceRow | undefined> {
  const candidates: { id: string }[] = await trx('instances')
    .select('id')
    .where({ org_id: target.orgId, project_id: target.projectId, offering_id: offeringId })
    .whereIn('state', ACTION_FROM.upgrade as string[])
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
  for (const { id } of candidates) {
    const row = await lockInstance(trx, id);
    if (!row || !ACTION_FROM.upgrade.includes(row.state)) continue;
    const version = await trx('offering_versions').select('plans').where({ id: row.version_id }).first();
    const plan = (version?.plans as Plan[] | undefined)?.find((p) => p.id === row.plan_id);
    if (plan && isTrialPlan(plan)) return row;
  }
  return undefined;
}

function planAnswer(env: OrderPaidEnv, line: OrderPaidRequest, row: InstanceRow, workspaceCreated: boolean): OrderPaidAnswer {
  return {
    orderId: line.orderId,
    lineId: line.lineId,
    kind: 'instance',
    orgId: row.org_id,
    projectId: row.project_id,
    walletId: row.wallet_id,
    workspaceCreated,
    instance: toInstance(row, env.instances.env, env.instances.stuckAfterMs),
  };
}

async function applyCreditPackLine(trx: Knex.Transaction, env: OrderPaidEnv, line: OrderPaidRequest, opts: OrderPaidOptions): Promise<OrderPaidAnswer> {
  const quantity = line.quantity ?? 1;
  const amount = line.creditsAmount! * quantity;
  const reference = orderLineKey(line.saleorApiUrl, line.orderId, line.lineId);
  const target = await resolveBuyer(trx, env, line.buyer);

  let topup: Wire<Topup>;
  const prior = await one<{ id: string; amount: number | string; created_at: Date }>(
    trx,
    `select id, amount, created_at from ledger_entries where wallet_id = ? and reference = ?`,
    [target.walletId, reference],
  );
  if (prior) {
    const w = await getWallet(trx, target.walletId, env.money);
    topup = topupView({ ledgerEntryId: prior.id, amount: Number(prior.amount), reference, createdAt: prior.created_at, wallet: w });
  } else {
    const r = await topUp(
      trx,
      {
        walletId: target.walletId,
        amount,
        creditType: 'paid',
        reference,
        metadata: {
          source: 'saleor',
          saleorApiUrl: line.saleorApiUrl,
          orderId: line.orderId,
          lineId: line.lineId,
          ...(line.orderNumber !== undefined ? { orderNumber: line.orderNumber } : {}),
          ...(line.sku !== undefined ? { sku: line.sku } : {}),
          creditsAmount: line.creditsAmount,
          quantity,
          actor: opts.actor,
        },
      },
      env.money,
    );
    topup = topupView({ ledgerEntryId: r.ledgerEntryId, amount: r.amount, reference, createdAt: nowOf(env.money), wallet: r.wallet });
    await recordAudit(trx, {
      orgId: target.orgId,
      projectId: target.projectId,
      action: 'wallet.topup',
      resourceType: 'wallet',
      resourceId: target.walletId,
      actor: actorFromString(opts.actor),
      requestId: opts.requestId,
      data: { walletId: target.walletId, ledgerEntryId: r.ledgerEntryId, amount: r.amount, creditType: 'paid', source: 'saleor', reference, orderId: line.orderId, lineId: line.lineId, balanceAfter: r.wallet.balance },
    });
  }
  return {
    orderId: line.orderId,
    lineId: line.lineId,
    kind: 'credit_pack',
    orgId: target.orgId,
    projectId: target.projectId,
    walletId: target.walletId,
    workspaceCreated: target.workspaceCreated,
    topup,
  };
}

function topupView(o: {
  ledgerEntryId: string;
  amount: number;
  reference: string;
  createdAt: Date;
  wallet: { id: string; balance: number; available: number; paidBalance: number; grantedBalance: number };
}): Wire<Topup> {
  return {
    ledgerEntryId: o.ledgerEntryId,
    walletId: o.wallet.id,
    amount: o.amount,
    creditType: 'paid',
    source: 'saleor',
    reference: o.reference,
    balance: o.wallet.balance,
    available: o.wallet.available,
    paidBalance: o.wallet.paidBalance,
    grantedBalance: o.wallet.grantedBalance,
    createdAt: o.createdAt.toISOString(),
  };
}

interface BuyerTarget {
  orgId: string;
  projectId: string;
  walletId: string;
  workspaceCreated: boolean;
}

type Buyer = OrderPaidRequest['buyer'];

async function resolveBuyer(trx: Knex.Transaction, env: OrderPaidEnv, buyer: Buyer): Promise<BuyerTarget> {
  if (buyer.orgId !== undefined || buyer.projectId !== undefined) return namedWorkspace(trx, buyer);
  const user = await buyerUser(trx, buyer);
  const ws = await createOrgAuto(trx, principalOfUser(user), { moneyDeps: env.money });
  return { orgId: ws.org.id, projectId: ws.project.id, walletId: ws.wallet.id, workspaceCreated: ws.created };
}

/** The account a personal workspace belongs to: by subject, by verified email, else the email's pending user. */
async function buyerUser(trx: Knex.Transaction, buyer: Buyer): Promise<UserRow> {
  if (buyer.userId !== undefined) {
    if (isPendingSubject(buyer.userId)) throw unprocessable('buyer.userId is not a user id', { field: 'buyer.userId' });
    // Known by subject ahead of their first sign-in (as adding a member by subject does);
    // their email stays unverified until their own token says otherwise.
    await trx.raw('insert into users (id, email) values (?, ?) on conflict (id) do nothing', [buyer.userId, buyer.email]);
    return (await findUser(trx, buyer.userId))!;
  }
  await lockEmail(trx, buyer.email);
  return (await findVerifiedUserByEmail(trx, buyer.email)) ?? (await ensurePendingUser(trx, buyer.email)).user;
}

/** The org/project the order names, checked: they exist, agree, and the buyer is a member. */
async function namedWorkspace(trx: Knex.Transaction, buyer: Buyer): Promise<BuyerTarget> {
  let place: { org_id: string; project_id: string | null } | undefined;
  if (buyer.projectId !== undefined) {
    place = await one(trx, 'select org_id, id as project_id from projects where id = ?', [buyer.projectId]);
    if (!place) throw unprocessable('buyer.projectId names no project', { field: 'buyer.projectId', projectId: buyer.projectId });
    if (buyer.orgId !== undefined && place.org_id !== buyer.orgId) {
      throw unprocessable('buyer.projectId is not a project of buyer.orgId', { field: 'buyer.projectId', orgId: buyer.orgId, projectId: buyer.projectId });
    }
  } else {
    place = await one(trx, 'select o.id as org_id, p.id as project_id from orgs o left join projects p on p.org_id = o.id and p.is_default where o.id = ?', [buyer.orgId!]);
    if (!place) throw unprocessable('buyer.orgId names no org', { field: 'buyer.orgId', orgId: buyer.orgId });
    if (!place.project_id) throw unprocessable('The org has no default project; name buyer.projectId', { field: 'buyer.orgId', orgId: buyer.orgId });
  }
  const orgId = place.org_id;
  const projectId = place.project_id!;

  if (buyer.userId === undefined) await lockEmail(trx, buyer.email);
  const member = await one<{ role: string }>(
    trx,
    buyer.userId !== undefined
      ? 'select m.role from memberships m where m.org_id = ? and m.user_id = ?'
      : `select m.role from memberships m join users u on u.id = m.user_id
          where m.org_id = ? and lower(u.email) = lower(?) and (u.email_verified or u.pending)
          order by m.role = 'owner' desc, m.role = 'admin' desc, m.role = 'member' desc limit 1`,
    [orgId, buyer.userId ?? buyer.email],
  );
  if (!member || !isOrgRole(member.role) || !roleSatisfies(member.role, 'member')) {
    throw unprocessable('The buyer is not a member of the org the order names', { field: buyer.projectId !== undefined ? 'buyer.projectId' : 'buyer.orgId', orgId });
  }
  const wallet = await one<{ id: string }>(
    trx,
    `select w.id from wallets w left join projects p on p.id = w.project_id
      where w.org_id = ?
      order by coalesce(w.project_id = ?, false) desc, coalesce(p.is_default, false) desc, w.created_at, w.id
      limit 1`,
    [orgId, projectId],
  );
  if (!wallet) throw unprocessable('The org has no wallet', { orgId });
  return { orgId, projectId, walletId: wallet.id, workspaceCreated: false };
}
