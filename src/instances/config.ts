import { effectiveConfigs } from '../capabilities/effective-config';
import { assertSettable, type ConfigLayer } from '../capabilities/settable-by';
import { AppError } from '../platform/errors';
import type { InstantiableVersion } from './versions';

/**
 * planDefaults ⊕ offeringDefaults ⊕ instanceOverrides for every capability of the version, or 422.
 * `setBy` names who writes the overrides now (create, update): a field that layer may not set is
 * refused with 422 CONFIG_FIELD_LOCKED. Without it (an upgrade recomputing stored overrides) the
 * overrides were checked when they were written.
 */
export function instanceConfig(v: InstantiableVersion, overrides: Record<string, unknown> | undefined, setBy?: { layer: ConfigLayer; previous?: unknown }) {
  if (setBy) assertSettable(overrides, setBy.layer, setBy.previous);
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
