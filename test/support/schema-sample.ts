/**
 * Builds a minimal value that satisfies an OpenAPI 3.0 schema: `example` or `default` when
 * given, the first enum value, format-aware strings, required properties only. Used by the
 * contract tests to call every operation with a request the spec accepts.
 */
type Json = any;

export function sample(schema: Json, spec: Json, depth = 0): Json {
  if (!schema || depth > 12) return undefined;
  if (schema.$ref) return sample(resolveRef(schema.$ref, spec), spec, depth + 1);
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s: Json) => sample(s, spec, depth + 1)));
  if (schema.oneOf || schema.anyOf) return sample((schema.oneOf ?? schema.anyOf)[0], spec, depth + 1);
  switch (schema.type) {
    case 'object':
    case undefined: {
      if (!schema.properties) return {};
      const out: Json = {};
      for (const name of schema.required ?? []) out[name] = sample(schema.properties[name], spec, depth + 1);
      return out;
    }
    case 'array': {
      const n = schema.minItems ?? 0;
      return Array.from({ length: n }, () => sample(schema.items, spec, depth + 1));
    }
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
    case 'boolean':
      return false;
    case 'string':
      return sampleString(schema);
    default:
      return undefined;
  }
}

function sampleString(schema: Json): string {
  switch (schema.format) {
    case 'date-time': return '2026-11-23T10:00:00Z';
    case 'date': return '2026-11-23';
    case 'email': return 'buyer@example.com';
    case 'uri':
    case 'url': return 'https://example.com/x';
    case 'uuid': return '3f0c6a1e-6d1b-4e1e-9a55-0a0e8a1f2b7c';
  }
  if (schema.pattern) return fromPattern(schema.pattern, schema.minLength ?? 1);
  return 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
}

/** Handles the id patterns the specs use: `^prefix_[A-Za-z0-9]{n,m}$` and similar. */
function fromPattern(pattern: string, minLength: number): string {
  const m = /^\^([a-z_]*)\[([^\]]+)\]\{(\d+)(?:,\d*)?\}\$$/.exec(pattern);
  if (m) return m[1] + 'A'.repeat(Number(m[3]));
  const plus = /^\^([a-z_]*)\[([^\]]+)\][+*]\$$/.exec(pattern);
  if (plus) return plus[1] + 'A'.repeat(Math.max(minLength - plus[1].length, 1));
  return 'x'.repeat(Math.max(minLength, 1));
}

function resolveRef(ref: string, spec: Json): Json {
  return ref.replace(/^#\//, '').split('/').reduce((node: Json, key) => node?.[key], spec);
}

/** A path with every `{param}` filled from the parameter's example or schema. */
export function samplePath(path: string, params: Json[], spec: Json): string {
  return path.replace(/\{([^}]+)\}/g, (_, name) => {
    const p = params.find((x) => x.in === 'path' && x.name === name);
    return encodeURIComponent(String(p?.example ?? sample(p?.schema, spec) ?? 'x'));
  });
}
