/**
 * The registry half of certification: every capability of a version must exist in the
 * capability registry at the version's `v`, and every plan's effective config
 * (`planDefaults ⊕ offeringDefaults`, then schema defaults) must pass the capability's
 * `config_schema` and its handler's `validate()` — both done by src/capabilities
 * (`effectiveConfigs`), so certification and instance creation can never disagree.
 */
import type { CertificationError, Plan, VersionCapability } from '../../generated/control-plane/types';
import { effectiveConfigs } from '../capabilities/effective-config';
import { capabilityRegistry } from '../capabilities/registry';
import { lockedFields } from '../capabilities/settable-by';

export interface Certifier {
  registryVersion(): string;
  /** Every problem of the version's capability list and plans (empty when it is certifiable). */
  check(capabilities: readonly VersionCapability[], plans: readonly Plan[]): CertificationError[];
}

export function registryCertifier(): Certifier {
  return {
    registryVersion: () => capabilityRegistry().version,
    check(capabilities, plans) {
      const registry = capabilityRegistry();
      const errors: CertificationError[] = [];
      const known: VersionCapability[] = [];
      const seen = new Set<string>();
      for (const c of capabilities) {
        if (seen.has(c.id)) {
          errors.push({ capability: c.id, path: '', code: 'INVALID_CONFIG', message: 'is listed twice' });
          continue;
        }
        seen.add(c.id);
        const entry = registry.get(c.id);
        if (!entry) {
          errors.push({ capability: c.id, path: '', code: 'INVALID_CONFIG', message: `is not a capability of registry ${registry.version}` });
        } else if (entry.v !== c.v) {
          errors.push({ capability: c.id, path: '', code: 'INVALID_CONFIG', message: `v${c.v} is not in registry ${registry.version} (it has v${entry.v})` });
        } else {
          known.push(c);
        }
      }
      const ids = known.map((c) => c.id);
      const offeringDefaults = Object.fromEntries(known.map((c) => [c.id, c.defaults ?? {}]));
      // Each layer sets only the fields the registry lets it set (`x-settable-by`).
      for (const f of lockedFields(offeringDefaults, 'publisher')) {
        errors.push({ capability: f.capability, path: f.path, code: 'CONFIG_FIELD_LOCKED', message: `cannot be set by the publisher; it is set by the ${f.settableBy.join(', ')}` });
      }
      for (const plan of plans) {
        for (const f of lockedFields(plan.defaults ?? {}, 'plan')) {
          errors.push({ capability: f.capability, plan: plan.id, path: f.path, code: 'CONFIG_FIELD_LOCKED', message: `cannot be set by a plan; it is set by the ${f.settableBy.join(', ')}` });
        }
      }
      for (const plan of plans) {
        // Defaults for a listed-but-unknown capability are already reported above.
        const planDefaults = Object.fromEntries(Object.entries(plan.defaults ?? {}).filter(([id]) => ids.includes(id) || !seen.has(id)));
        for (const i of effectiveConfigs(ids, { planDefaults, offeringDefaults }).issues) {
          errors.push({ ...(i.capability ? { capability: i.capability } : {}), plan: plan.id, path: i.path, code: 'INVALID_CONFIG', message: i.message });
        }
      }
      return errors;
    },
  };
}
