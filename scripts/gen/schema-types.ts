import { compile } from 'json-schema-to-typescript';

type Json = any;

/**
 * OpenAPI 3.0 schema objects → JSON Schema that json-schema-to-typescript understands:
 * `nullable` becomes a null branch, `#/components/schemas/X` refs become `#/definitions/X`,
 * nested `title`s are dropped so names come from component keys only.
 */
export function toJsonSchema(node: Json, nested = false): Json {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, true));
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') out.$ref = v.replace('#/components/schemas/', '#/definitions/');
    else if (k === 'title' && nested) continue;
    else if (k === 'nullable' || k === 'example' || k === 'examples' || k.startsWith('x-')) continue;
    else if (k === 'properties' && v && typeof v === 'object') {
      out.properties = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, toJsonSchema(s, true)]));
    } else out[k] = toJsonSchema(v, true);
  }
  if (node.nullable === true) {
    if (out.$ref) return { anyOf: [{ $ref: out.$ref }, { type: 'null' }] };
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}

/** Compiles named schemas into exported TypeScript declarations (one per name). */
export async function compileNamedSchemas(schemas: Record<string, Json>, bannerComment = ''): Promise<string> {
  const definitions = Object.fromEntries(
    Object.entries(schemas).map(([name, s]) => [name, { ...toJsonSchema(s), title: name }]),
  );
  const root = { title: '__Root', type: 'object', additionalProperties: false, properties: {}, definitions };
  const ts = await compile(root as never, '__Root', {
    bannerComment,
    unreachableDefinitions: true,
    additionalProperties: false,
    format: true,
    strictIndexSignatures: true,
    ignoreMinAndMaxItems: true,
    declareExternallyReferenced: true,
    style: { singleQuote: true, printWidth: 110 },
  });
  return ts
    .replace(/export interface __Root \{\s*\}\n?/, '')
    .replace(/\/\*\*\n \* This interface was referenced by `__Root`'s JSON-Schema\n \* via the `definition` "[^"]+"\.\n \*\/\n/g, '')
    .replace(/\n \*\n \* This interface was referenced by `__Root`'s JSON-Schema\n \* via the `definition` "[^"]+"\./g, '');
}

export function pascal(id: string): string {
  return id.replace(/(^|[_\-.\s:/]+)([a-zA-Z0-9])/g, (_, __, c: string) => c.toUpperCase());
}

export function kebab(id: string): string {
  return id.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/[_\s:]+/g, '-').toLowerCase();
}
