/**
 * The capability registry (specs/capability-registry.yaml), read and checked at start-up:
 * - the file matches specs/capability-registry.schema.json;
 * - capability ids are unique and `provisioning.handler` is `<id>.v<v>`;
 * - metering dimension names are unique (within a capability and across the registry: usage is one
 *   flat map keyed by dimension name, so a name must say which capability it belongs to);
 * - every `config_schema` compiles (ajv, strict: false, with formats);
 * - the ids are those `npm run gen` generated from (generated/capabilities/index.ts), so handlers
 *   and types cannot silently lag behind the YAML.
 * Any problem throws a `RegistryError` listing all of them.
 */
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { projectPath } from '../platform/paths';
import { capabilityIds, type CapabilityId } from '../../generated/capabilities/index';
import type { CapabilityLayer } from '../../generated/control-plane/types';
import type { HookName } from './hook-types';

export const REGISTRY_FILE = projectPath('specs', 'capability-registry.yaml');
export const REGISTRY_SCHEMA_FILE = projectPath('specs', 'capability-registry.schema.json');

/** Kinds a handler may emit (registry schema: definitions.kubernetesKind). */
export type ProvisionedKind =
  | 'GatewayRoute'
  | 'GatewayPolicy'
  | 'ConnectorPolicy'
  | 'ExternalSecret'
  | 'ConfigMap'
  | 'KnowledgeBaseBinding'
  | 'ScheduledRun'
  | 'AuditSink'
  | 'ObservabilityProfile'
  | 'WidgetConfig'
  | 'HandoverPolicy'
  | 'GuardrailPolicy';

export interface RegistryDimension {
  name: string;
  unit: string;
  /** `credits` credits per `per` units (both integers). */
  credits: number;
  per: number;
  description: string;
}

/** A JSON Schema (draft-07) object. */
export type JsonSchema = Readonly<Record<string, unknown>>;

export interface RegistryCapability {
  id: CapabilityId;
  v: number;
  layer: CapabilityLayer;
  title: string;
  description: string;
  saleorValue: string;
  configSchema: JsonSchema;
  provisioning: { handler: string; kinds: readonly ProvisionedKind[] };
  /** Run-time hooks the handler implements (hook-types.ts). */
  hooks: readonly HookName[];
  metering: { dimensions: readonly RegistryDimension[] };
}

export interface CapabilityRegistry {
  version: string;
  /** In registry order. */
  capabilities: readonly RegistryCapability[];
  get(id: string): RegistryCapability | undefined;
  /** Like `get`, but an unknown id throws. */
  require(id: string): RegistryCapability;
}

export class RegistryError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not a valid capability registry:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RegistryError';
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export interface LoadRegistryOptions {
  /** Registry YAML text (instead of reading `file`); for tests. */
  source?: string;
  file?: string;
  schemaFile?: string;
  /** Check the ids against generated/capabilities (default true; off for test registries). */
  checkGenerated?: boolean;
}

/** Reads, validates and returns the registry. Throws a `RegistryError` listing every problem. */
export function loadCapabilityRegistry(opts: LoadRegistryOptions = {}): CapabilityRegistry {
  const file = opts.file ?? REGISTRY_FILE;
  const text = opts.source ?? readFileSync(file, 'utf8');
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new RegistryError(file, [`not valid YAML: ${(err as Error).message}`]);
  }
  const schema = JSON.parse(readFileSync(opts.schemaFile ?? REGISTRY_SCHEMA_FILE, 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  if (!ajv.validate(schema, raw)) {
    throw new RegistryError(
      file,
      (ajv.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'allowedValues' in e.params ? ` (${(e.params as any).allowedValues.join(', ')})` : ''}`),
    );
  }

  const reg = raw as { version: string; capabilities: any[] };
  const problems: string[] = [];
  const ids = new Set<string>();
  const dimensionOwner = new Map<string, string>();
  // A separate instance: config schemas must compile on their own, as effective-config compiles them.
  const configAjv = new Ajv({ allErrors: true, strict: false });
  addFormats(configAjv);
  for (const [i, c] of reg.capabilities.entries()) {
    const at = `capabilities[${i}] (${c.id})`;
    if (ids.has(c.id)) problems.push(`${at}: duplicate capability id ${c.id}`);
    ids.add(c.id);
    if (c.provisioning.handler !== `${c.id}.v${c.v}`) {
      problems.push(`${at}: provisioning.handler is ${c.provisioning.handler}, must be ${c.id}.v${c.v}`);
    }
    for (const d of c.metering.dimensions) {
      const owner = dimensionOwner.get(d.name);
      if (owner === c.id) problems.push(`${at}: metering dimension ${d.name} is listed twice`);
      else if (owner) problems.push(`${at}: metering dimension ${d.name} is already used by ${owner}`);
      else dimensionOwner.set(d.name, c.id);
    }
    try {
      configAjv.compile(structuredClone(c.config_schema));
    } catch (err) {
      problems.push(`${at}: config_schema does not compile: ${(err as Error).message}`);
    }
  }
  if (opts.checkGenerated ?? opts.source === undefined) {
    const generated = [...capabilityIds].join(', ');
    const current = [...ids].join(', ');
    if (generated !== current) problems.push(`generated/capabilities lists [${generated}] but the registry has [${current}]: run npm run gen`);
  }
  if (problems.length) throw new RegistryError(file, problems);

  const capabilities: RegistryCapability[] = reg.capabilities.map((c) => ({
    id: c.id,
    v: c.v,
    layer: c.layer,
    title: c.title,
    description: c.description,
    saleorValue: c.saleor_value,
    configSchema: c.config_schema,
    provisioning: { handler: c.provisioning.handler, kinds: c.provisioning.kinds },
    hooks: c.hooks ?? [],
    metering: {
      dimensions: c.metering.dimensions.map((d: any) => ({ name: d.name, unit: d.unit, credits: d.credits, per: d.per, description: d.description })),
    },
  }));
  deepFreeze(capabilities);
  const byId = new Map(capabilities.map((c) => [c.id as string, c]));
  return {
    version: reg.version,
    capabilities,
    get: (id) => byId.get(id),
    require(id) {
      const c = byId.get(id);
      if (!c) throw new Error(`unknown capability ${JSON.stringify(id)}`);
      return c;
    },
  };
}

let cached: CapabilityRegistry | undefined;

/** The registry of this build, loaded and validated on first use, then cached for the process. */
export function capabilityRegistry(): CapabilityRegistry {
  cached ??= loadCapabilityRegistry();
  return cached;
}
