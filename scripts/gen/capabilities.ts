import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { compileNamedSchemas, kebab, pascal } from './schema-types';

type Json = any;

export const REGISTRY = 'specs/capability-registry.yaml';
export const REGISTRY_SCHEMA = 'specs/capability-registry.schema.json';

/** Loads the registry and validates it against its JSON Schema; ids must be unique. */
export function loadRegistry(): { version: unknown; capabilities: Json[] } {
  const registry = parse(readFileSync(REGISTRY, 'utf8')) as { version: unknown; capabilities: Json[] };
  const schema = JSON.parse(readFileSync(REGISTRY_SCHEMA, 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  if (!ajv.validate(schema, registry)) {
    const errs = (ajv.errors ?? []).map((e) => `  ${e.instancePath || '/'} ${e.message}`).join('\n');
    throw new Error(`${REGISTRY} does not match ${REGISTRY_SCHEMA}:\n${errs}`);
  }
  const seen = new Set<string>();
  for (const c of registry.capabilities) {
    if (seen.has(c.id)) throw new Error(`${REGISTRY}: duplicate capability id ${c.id}`);
    seen.add(c.id);
    // every config_schema must itself compile
    ajv.compile(c.config_schema);
  }
  return registry;
}

export async function renderCapabilityTypes(cap: Json): Promise<string> {
  const name = pascal(cap.id);
  const types = await compileNamedSchemas({ [`${name}Config`]: cap.config_schema });
  const dims: string[] = (cap.metering?.dimensions ?? []).map((d: Json) => JSON.stringify(d.name));
  const hooks: string[] = (cap.hooks ?? []).map((h: string) => JSON.stringify(h));
  return `import type { CapabilityHandler } from '../../src/capabilities/handler-types';

${types.trim()}

/** Usage dimensions this capability meters (registry: metering.dimensions). */
export type ${name}Dimension = ${dims.length ? dims.join(' | ') : 'never'};

/** Run-time hooks the handler implements (registry: hooks). */
export type ${name}Hooks = ${hooks.length ? hooks.join(' | ') : 'never'};

/** The handler ${'`capabilities/' + cap.id + '/handler.ts`'} implements. */
export type ${name}Handler = CapabilityHandler<${name}Config, ${name}Dimension, ${name}Hooks>;

export const ${camel(cap.id)}Meta = ${JSON.stringify(
    { id: cap.id, v: cap.v, layer: cap.layer, handler: cap.provisioning?.handler, dimensions: cap.metering?.dimensions ?? [], hooks: cap.hooks ?? [], settableBy: settableByOf(cap.config_schema) },
    null,
    2,
  )} as const;
`;
}

export function renderCapabilityIndex(caps: Json[]): string {
  const lines: string[] = [];
  for (const c of caps) lines.push(`import type { ${pascal(c.id)}Config, ${pascal(c.id)}Handler } from './${kebab(c.id)}';`);
  lines.push('');
  lines.push('export const capabilityIds = [' + caps.map((c) => JSON.stringify(c.id)).join(', ') + '] as const;');
  lines.push('export type CapabilityId = (typeof capabilityIds)[number];');
  lines.push('');
  lines.push('export interface CapabilityConfigs {');
  for (const c of caps) lines.push(`  ${c.id}: ${pascal(c.id)}Config;`);
  lines.push('}');
  lines.push('');
  lines.push('/** One typed handler per registry capability; a missing or mistyped one fails `tsc`. */');
  lines.push('export interface CapabilityHandlers {');
  for (const c of caps) lines.push(`  ${c.id}: ${pascal(c.id)}Handler;`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

export function renderCapabilityRegistry(caps: Json[]): string {
  const lines = [`import type { CapabilityHandlers } from './index';`];
  for (const c of caps) lines.push(`import { ${camel(c.id)} } from '../../capabilities/${c.id}/handler';`);
  lines.push('');
  lines.push('/** Hand-written capability handlers (capabilities/<id>/handler.ts) keyed by registry id. */');
  lines.push('export const capabilityHandlers = {');
  for (const c of caps) lines.push(`  ${c.id}: ${camel(c.id)},`);
  lines.push('} satisfies CapabilityHandlers;');
  return lines.join('\n') + '\n';
}

/** Skeleton bodies of the run-time hooks (src/capabilities/hook-types.ts says where each runs). */
const HOOK_SKELETONS: Record<string, string> = {
  beforeRun: `  beforeRun(input, ctx) {
    // gateway, before the hold: return { text } / { instructions } / { refuse } / { answer }, or nothing
    throw new Error('ID: beforeRun not implemented');
  },`,
  afterRun: `  afterRun(output, ctx) {
    // gateway, before settling: return { text } / { refuse }, or nothing
    throw new Error('ID: afterRun not implemented');
  },`,
  outputStream: `  outputStream(ctx) {
    // gateway, while streaming: push(chunk) returns what may be sent now; end() the rest
    throw new Error('ID: outputStream not implemented');
  },`,
  onToolCall: `  onToolCall(call, ctx) {
    // connector gateway, before the call: return { refuse } or nothing
    throw new Error('ID: onToolCall not implemented');
  },`,
  onTrigger: `  onTrigger(trigger, ctx) {
    // control plane, before a scheduled or webhook run: return { input } / { refuse }, or nothing
    throw new Error('ID: onTrigger not implemented');
  },`,
};

export function renderCapabilitySkeleton(cap: Json): string {
  const name = pascal(cap.id);
  const hooks = ((cap.hooks ?? []) as string[]).map((h) => '\n' + HOOK_SKELETONS[h]!.replaceAll('ID', cap.id)).join('');
  return `import type { ${name}Handler } from '../../generated/capabilities/${kebab(cap.id)}';

/**
 * ${cap.title}: ${String(cap.description ?? '').replace(/\s+/g, ' ').trim()}
 * Fill in validate, desiredState and meter${(cap.hooks ?? []).length ? ' and the run-time hooks the registry declares' : ''}; the types come from the registry entry.
 */
export const ${camel(cap.id)}: ${name}Handler = {
  validate(config) {
    throw new Error('${cap.id}: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('${cap.id}: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('${cap.id}: meter not implemented');
  },${hooks}
};
`;
}

export function camel(id: string): string {
  const p = pascal(id);
  return p[0].toLowerCase() + p.slice(1);
}

/**
 * The config fields the registry restricts (`x-settable-by`), as JSON pointers → the layers that
 * may set them; fields not listed are settable by every layer.
 */
export function settableByOf(schema: Json, path = ''): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, prop] of Object.entries((schema?.properties ?? {}) as Record<string, Json>)) {
    const at = `${path}/${key}`;
    if (Array.isArray(prop['x-settable-by'])) out[at] = prop['x-settable-by'];
    else if (prop.type === 'object') Object.assign(out, settableByOf(prop, at));
  }
  return out;
}
