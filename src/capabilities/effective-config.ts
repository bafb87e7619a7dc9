/**
 * Effective config of a capability for an instance:
 *
 *   planDefaults ⊕ offeringDefaults ⊕ instanceOverrides, then the schema's `default`s, then checks.
 *
 * Merge rules (⊕, later layer wins):
 * - plain objects merge key by key, recursively;
 * - arrays and scalars are replaced as a whole (a later `allowedOrigins` replaces, never appends);
 * - `null` in a later layer removes the key (so the schema default, if any, applies again); a
 *   whole layer that is `null` removes everything the earlier layers set; `undefined` or a
 *   missing layer changes nothing. Inputs are never mutated.
 * Then ajv fills in every `default` of the capability's `config_schema` (on a copy) and validates
 * against it; a schema-valid config is then checked by the handler's own `validate()` (semantic
 * rules JSON Schema cannot say). Issues are `{ path, message }` with `path` a JSON pointer into
 * the capability's config (`''` for the config itself).
 */
import { capabilityHandlers } from '../../generated/capabilities/handler-registry';
import type { CapabilityConfigs, CapabilityId } from '../../generated/capabilities/index';
import type { ConfigIssue } from './handler-types';
import { ajvIssues, issue } from './issues';
import { configValidator } from './config-defaults';

export type ConfigObject = Record<string, unknown>;

export interface EffectiveConfig<C = ConfigObject> {
  /** The merged config with defaults applied (returned even when there are issues). */
  config: C;
  issues: ConfigIssue[];
}

export const isPlainObject = (v: unknown): v is ConfigObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

function set(target: ConfigObject, key: string, value: unknown): void {
  // defineProperty keeps a key named `__proto__` an ordinary (and then rejected) property.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isPlainObject(value)) {
    const out: ConfigObject = {};
    for (const [k, v] of Object.entries(value)) set(out, k, clone(v));
    return out;
  }
  return value;
}

function mergeInto(base: ConfigObject, over: ConfigObject): void {
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    if (v === null) {
      delete base[k];
    } else if (isPlainObject(v) && Object.prototype.hasOwnProperty.call(base, k) && isPlainObject(base[k])) {
      mergeInto(base[k] as ConfigObject, v);
    } else {
      set(base, k, clone(v));
    }
  }
}

/** Deep merge of config layers (rules above). Non-object layers other than null/undefined are skipped. */
export function mergeConfigLayers(...layers: unknown[]): ConfigObject {
  let out: ConfigObject = {};
  for (const layer of layers) {
    if (layer === null) out = {};
    else if (isPlainObject(layer)) mergeInto(out, layer);
  }
  return out;
}

const LAYER_NAMES = ['planDefaults', 'offeringDefaults', 'instanceOverrides'] as const;

/** Semantic checks of a handler; a handler that throws is reported, not propagated. */
function semanticIssues(capabilityId: string, config: ConfigObject): ConfigIssue[] {
  const handler = (capabilityHandlers as Record<string, { validate(config: unknown): ConfigIssue[] }>)[capabilityId];
  try {
    return handler.validate(config);
  } catch (err) {
    return [issue('', `could not be checked: ${(err as Error).message}`)];
  }
}

export function effectiveConfig<K extends CapabilityId>(
  capabilityId: K,
  planDefaults?: unknown,
  offeringDefaults?: unknown,
  instanceOverrides?: unknown,
): EffectiveConfig<CapabilityConfigs[K]>;
export function effectiveConfig(
  capabilityId: string,
  planDefaults?: unknown,
  offeringDefaults?: unknown,
  instanceOverrides?: unknown,
): EffectiveConfig;
export function effectiveConfig(
  capabilityId: string,
  planDefaults?: unknown,
  offeringDefaults?: unknown,
  instanceOverrides?: unknown,
): EffectiveConfig {
  const layers = [planDefaults, offeringDefaults, instanceOverrides];
  const validate = configValidator(capabilityId);
  if (!validate) return { config: {}, issues: [issue('', `unknown capability ${JSON.stringify(capabilityId)}`)] };
  const layerIssues: ConfigIssue[] = [];
  layers.forEach((layer, i) => {
    if (layer !== undefined && layer !== null && !isPlainObject(layer)) layerIssues.push(issue('', `${LAYER_NAMES[i]} must be an object`));
  });
  const config = mergeConfigLayers(...layers); // a fresh copy: ajv may fill defaults into it
  if (layerIssues.length) return { config, issues: layerIssues };
  if (!validate(config)) return { config, issues: ajvIssues(validate.errors) };
  return { config, issues: semanticIssues(capabilityId, config) };
}

/** Config layers of a whole offering version: each maps capability id → that capability's layer. */
export interface ConfigLayers {
  planDefaults?: Readonly<Record<string, unknown>> | null;
  offeringDefaults?: Readonly<Record<string, unknown>> | null;
  instanceOverrides?: Readonly<Record<string, unknown>> | null;
}

export interface CapabilityConfigIssue extends ConfigIssue {
  capability: string;
}

export interface EffectiveConfigs {
  /** Capability id → effective config, for every capability listed. */
  configs: Record<string, ConfigObject>;
  /** Every issue, with the capability it belongs to; `path` points into that capability's config. */
  issues: CapabilityConfigIssue[];
}

/**
 * Effective configs of every capability of an offering version. Config given for a capability the
 * version does not list is an issue (it would silently do nothing), as is an unknown or repeated id.
 */
export function effectiveConfigs(capabilityIds: readonly string[], layers: ConfigLayers): EffectiveConfigs {
  const configs: Record<string, ConfigObject> = {};
  const issues: CapabilityConfigIssue[] = [];
  const listed = new Set<string>();
  for (const id of capabilityIds) {
    if (listed.has(id)) {
      issues.push({ capability: id, path: '', message: 'is listed twice' });
      continue;
    }
    listed.add(id);
    const pick = (layer: ConfigLayers[keyof ConfigLayers]) =>
      layer && Object.prototype.hasOwnProperty.call(layer, id) ? layer[id] : undefined;
    const r = effectiveConfig(id, pick(layers.planDefaults), pick(layers.offeringDefaults), pick(layers.instanceOverrides));
    configs[id] = r.config;
    for (const i of r.issues) issues.push({ capability: id, ...i });
  }
  for (const name of LAYER_NAMES) {
    const layer = layers[name];
    if (layer === undefined || layer === null) continue;
    if (!isPlainObject(layer)) {
      issues.push({ capability: '', path: '', message: `${name} must be an object keyed by capability id` });
      continue;
    }
    for (const id of Object.keys(layer)) {
      if (!listed.has(id)) issues.push({ capability: id, path: '', message: `${name} configures ${id}, which is not a capability of this version` });
    }
  }
  return { configs, issues };
}
