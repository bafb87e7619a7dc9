/**
 * Who may set each config field: the registry's `x-settable-by` on a `config_schema` property
 * lists the layers allowed to give it a value — `operator` (a platform operator, on any
 * instance), `publisher` (the offering version's capability defaults), `plan` (a plan's defaults)
 * and `buyer` (the instance's own overrides, written by its org). No `x-settable-by`: every layer.
 *
 * Money limits (per-run budgets and caps), cost-shaping limits (input sizes, call counts, rate
 * limits) and network reach (allowed hosts, private networks) are not buyer-settable: a buyer who
 * could lower `estimatedBudgetPerRun` or raise `maxInputChars` would run work the wallet does not
 * cover, and one who could set `allowPrivateNetworks` would point connectors at the platform's own
 * network. A layer's value for a field it may not set is refused — never silently dropped — so the
 * caller learns which field is locked (422 CONFIG_FIELD_LOCKED naming it; certification for a
 * publisher's or plan's defaults).
 */
import { isDeepStrictEqual } from 'node:util';
import { AppError } from '../platform/errors';
import { isPlainObject } from './effective-config';
import { capabilityRegistry, type JsonSchema } from './registry';

export const CONFIG_LAYERS = ['operator', 'publisher', 'plan', 'buyer'] as const;
export type ConfigLayer = (typeof CONFIG_LAYERS)[number];

export interface LockedField {
  capability: string;
  /** JSON pointer into the capability's config. */
  path: string;
  /** The layers that may set it. */
  settableBy: ConfigLayer[];
}

function settableBy(schema: JsonSchema | undefined): ConfigLayer[] | undefined {
  const v = schema?.['x-settable-by'];
  return Array.isArray(v) ? (v as ConfigLayer[]) : undefined;
}

const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** Fields of `value` (a layer's config of one capability, per its schema) that `layer` may not set. */
function lockedIn(capability: string, schema: JsonSchema, value: unknown, previous: unknown, layer: ConfigLayer, path: string, out: LockedField[]): void {
  if (!isPlainObject(value)) return;
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const before = isPlainObject(previous) ? previous : {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || !Object.prototype.hasOwnProperty.call(props, key)) continue;
    const prop = props[key]!;
    const at = `${path}/${escape(key)}`;
    const allowed = settableBy(prop);
    const kept = Object.prototype.hasOwnProperty.call(before, key) && isDeepStrictEqual(before[key], v);
    // `null` removes a value an earlier layer set: that is setting the field too. A value the
    // same overrides already held (an operator's, sent back unchanged) is not a new setting.
    if (allowed && !allowed.includes(layer)) {
      if (!kept) out.push({ capability, path: at, settableBy: [...allowed] });
    } else if (prop.type === 'object') lockedIn(capability, prop, v, before[key], layer, at, out);
  }
}

/**
 * Every field `layer` sets in `configs` (capability id → that capability's config) that it may
 * not set; values equal to those in `previous` (the overrides being replaced) are kept, not set.
 * Unknown capabilities and fields are left to schema validation.
 */
export function lockedFields(configs: unknown, layer: ConfigLayer, previous?: unknown): LockedField[] {
  const out: LockedField[] = [];
  if (!isPlainObject(configs)) return out;
  const registry = capabilityRegistry();
  const before = isPlainObject(previous) ? previous : {};
  for (const [id, config] of Object.entries(configs)) {
    const entry = registry.get(id);
    if (entry) lockedIn(id, entry.configSchema, config, before[id], layer, '', out);
  }
  return out;
}

/** 422 CONFIG_FIELD_LOCKED naming the first locked field (all of them in `details.fields`). */
export function assertSettable(configs: unknown, layer: ConfigLayer, previous?: unknown): void {
  const locked = lockedFields(configs, layer, previous);
  if (!locked.length) return;
  const first = locked[0]!;
  const name = `${first.capability}${first.path.replace(/\//g, '.')}`;
  throw new AppError('CONFIG_FIELD_LOCKED', `${name} cannot be set by the ${layer}; it is set by the ${first.settableBy.join(', ')}`, {
    capability: first.capability,
    field: first.path,
    layer,
    settableBy: first.settableBy,
    fields: locked.map((f) => ({ capability: f.capability, field: f.path, settableBy: f.settableBy })),
  });
}
