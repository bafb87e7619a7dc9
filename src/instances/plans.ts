/**
 * Plans as a product: a buyer starts (or moves an instance to) only a plan marked `trial`; every
 * other plan is sold — it comes from a purchase (the Provisioner's order-paid) or a platform
 * operator. Versions authored before plans carried `trial` treat `starter` as their trial plan
 * (offering versions are immutable, so their plans cannot be re-marked).
 */
import type { Plan } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';

/** Who puts an instance on a plan: its org's members, a platform operator, or a paid order. */
export type PlanAuthority = 'buyer' | 'operator' | 'purchase';

type PlanLike = Pick<Plan, 'id'> & { trial?: boolean };

export function isTrialPlan(plan: PlanLike): boolean {
  return plan.trial ?? plan.id === 'starter';
}

/** 403 PLAN_REQUIRES_PURCHASE when a buyer asks for a plan that is sold. */
export function assertPlanAllowed(plan: PlanLike, by: PlanAuthority, plans: readonly PlanLike[]): void {
  if (by !== 'buyer' || isTrialPlan(plan)) return;
  throw new AppError('PLAN_REQUIRES_PURCHASE', `Plan ${plan.id} is sold, not started: buy it in the store (or ask a platform operator)`, {
    planId: plan.id,
    trialPlans: plans.filter(isTrialPlan).map((p) => p.id),
  });
}
