import { effectiveConfigs } from '../capabilities/effective-config';
import { AppError } from '../platform/errors';
import type { InstantiableVersion } from './versions';

/** planDefaults ⊕ offeringDefaults ⊕ instanceOverrides for every capability of the version, or 422. */
export function instanceConfig(v: InstantiableVersion, overrides: Record<string, unknown> | undefined) {
  const offeringDefaults = Object.fromEntries(v.version.capabilities.map((c) => [c.id, c.defaults ?? {}]));
  const r = effectiveConfigs(
    v.version.capabilities.map((c) => c.id),
    { planDefaults: v.plan.defaults, offeringDefaults, instanceOverrides: overrides ?? {} },
  );
  if (r.issues.length) {
    throw new AppError('INVALID_CONFIG', `The effective config is invalid for ${[...new Set(r.issues.map((i) => i.capability))].join(', ')}`, { issues: r.issues });
  }
  return r.configs as Record<string, Record<string, unknown>>;
}
