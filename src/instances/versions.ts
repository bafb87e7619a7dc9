import type { Knex } from 'knex';
import type { Plan, PlanId } from '../../generated/control-plane/types';
import type { VersionRow } from '../catalog/rows';
import { AppError } from '../platform/errors';
import { OfferingVersionModel } from '../catalog/models';

export interface InstantiableVersion {
  version: VersionRow;
  offeringId: string;
  offeringLifecycle: string;
  plan: Plan;
}

/**
 * The offering version and plan an instance is made from: the version must have passed
 * certification and its offering must be published (paused/eos/eol offerings take no new
 * instances; upgrades of existing ones may target any certified version of the same offering).
 */
export async function instantiableVersion(db: Knex | Knex.Transaction, versionId: string, planId: PlanId, purpose: 'create' | 'upgrade'): Promise<InstantiableVersion> {
  const version = await OfferingVersionModel.query(db).findById(versionId).withGraphFetched('offering');
  if (!version) throw new AppError('NOT_FOUND', 'Offering version not found');
  const offering = version.offering;
  if (!offering) throw new AppError('NOT_FOUND', 'Offering version not found');
  if (version.certification_status !== 'passed') {
    throw new AppError('UNPROCESSABLE', 'This offering version has not passed certification', { versionId, certification: version.certification_status });
  }
  if (purpose === 'create' && offering.lifecycle !== 'published') {
    throw new AppError('UNPROCESSABLE', `The offering is ${offering.lifecycle}; it takes no new instances`, { offeringId: offering.id, lifecycle: offering.lifecycle });
  }
  const plan = version.plans.find((p) => p.id === planId);
  if (!plan) {
    throw new AppError('UNPROCESSABLE', `Plan ${planId} is not offered by this version`, { planId, plans: version.plans.map((p) => p.id) });
  }
  return { version, offeringId: offering.id, offeringLifecycle: offering.lifecycle, plan };
}
