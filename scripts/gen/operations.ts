import { pascal, kebab } from './schema-types';

type Json = any;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export interface OperationInfo {
  operationId: string;
  method: string;
  path: string;
  typeBase: string;
  file: string;
  security: string[][];
  roles: string[];
  idempotency?: 'required' | 'optional';
  hasParams: { path: boolean; query: boolean; headers: boolean };
  bodyType: string;
  results: { status: number; bodyType: string }[];
}

/** Reads every operation of a bundled spec, adding the inline schemas it needs to `schemas`. */
export function collectOperations(spec: Json, schemas: Record<string, Json>): OperationInfo[] {
  const ops: OperationInfo[] = [];
  const deref = (o: Json) => {
    if (!o?.$ref) return o;
    const [, kind, name] = /^#\/components\/([^/]+)\/([^/]+)$/.exec(o.$ref) ?? [];
    return spec.components?.[kind]?.[name];
  };
  const typeOf = (schema: Json, inlineName: string): string => {
    if (!schema) return 'undefined';
    const m = /^#\/components\/schemas\/([^/]+)$/.exec(schema.$ref ?? '');
    if (m) return `T.${m[1]}`;
    schemas[inlineName] = schema;
    return `T.${inlineName}`;
  };

  for (const [path, item] of Object.entries<Json>(spec.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      if (!op.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      const typeBase = pascal(op.operationId);
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map(deref);
      const group = (where: string, lower: boolean) => {
        const list = params.filter((p: Json) => p.in === where);
        if (!list.length) return false;
        const name = (p: Json) => (lower ? String(p.name).toLowerCase() : p.name);
        schemas[`${typeBase}${where === 'header' ? 'Headers' : where === 'path' ? 'PathParams' : 'Query'}`] = {
          type: 'object',
          additionalProperties: false,
          properties: Object.fromEntries(list.map((p: Json) => [name(p), { ...p.schema, description: p.description }])),
          required: list.filter((p: Json) => p.required).map(name),
        };
        return true;
      };
      const hasParams = { path: group('path', false), query: group('query', false), headers: group('header', true) };
      const body = deref(op.requestBody);
      const bodySchema = body?.content?.['application/json']?.schema;
      const results: OperationInfo['results'] = [];
      for (const [code, resp] of Object.entries<Json>(op.responses ?? {})) {
        const status = Number(code);
        if (!(status >= 200 && status < 300)) continue;
        const content = deref(resp).content ?? {};
        const json = content['application/json']?.schema;
        const other = Object.keys(content).find((c) => c !== 'application/json');
        // A text/event-stream answer is written as it happens: its body may be a Readable.
        const otherType = other === 'text/event-stream' ? "string | import('node:stream').Readable" : 'string';
        const bodyType = json ? typeOf(json, `${typeBase}Response${status}`) : other ? otherType : 'undefined';
        results.push({ status, bodyType });
        if (json && other) results.push({ status, bodyType: otherType });
      }
      ops.push({
        operationId: op.operationId,
        method,
        path,
        typeBase,
        file: kebab(op.operationId),
        security: (op.security ?? spec.security ?? []).map((req: Json) => Object.keys(req)),
        roles: op['x-roles'] ?? [],
        idempotency: op['x-idempotency'],
        hasParams,
        bodyType: bodySchema ? typeOf(bodySchema, `${typeBase}Body`) : 'undefined',
        results,
      });
    }
  }
  return ops.sort((a, b) => a.operationId.localeCompare(b.operationId));
}

export function renderOperations(ops: OperationInfo[], deps: { importPath: string; type: string }): string {
  const lines: string[] = [];
  lines.push(`import type * as T from './types';`);
  lines.push(`import type { OperationHandler } from '../../src/platform/http/handler-types';`);
  lines.push(`import type { ${deps.type} } from '${deps.importPath}';`);
  lines.push('');
  for (const op of ops) {
    const p = op.hasParams;
    lines.push(`/** ${op.method.toUpperCase()} ${op.path} */`);
    lines.push(`export interface ${op.typeBase}Request {`);
    lines.push(`  params: ${p.path ? `T.${op.typeBase}PathParams` : 'Record<string, never>'};`);
    lines.push(`  query: ${p.query ? `T.${op.typeBase}Query` : 'Record<string, never>'};`);
    lines.push(`  headers: ${p.headers ? `T.${op.typeBase}Headers` : 'Record<string, string | undefined>'};`);
    lines.push(`  body: ${op.bodyType};`);
    lines.push('}');
    const results = op.results.length
      ? op.results.map((r) => `  | { status: ${r.status}; body: ${r.bodyType}; headers?: Record<string, string>; contentType?: string }`)
      : ['  | never'];
    lines.push(`export type ${op.typeBase}Result =\n${results.join('\n')};`);
    lines.push('');
  }
  lines.push('/** Every operation of the spec, keyed by operationId. A missing or mistyped handler fails `tsc`. */');
  lines.push('export interface Handlers {');
  for (const op of ops) {
    lines.push(`  ${op.operationId}: OperationHandler<${op.typeBase}Request, ${op.typeBase}Result, ${deps.type}>;`);
  }
  lines.push('}');
  lines.push('');
  lines.push('export type Handler<K extends keyof Handlers> = Handlers[K];');
  lines.push('');
  lines.push('/** Routing facts read from the spec (the router itself is openapi-backend over the bundled spec). */');
  lines.push('export const operations = {');
  for (const op of ops) {
    const meta = {
      method: op.method,
      path: op.path,
      security: op.security,
      roles: op.roles,
      idempotency: op.idempotency ?? null,
      successStatus: op.results.map((r) => r.status),
    };
    lines.push(`  ${op.operationId}: ${JSON.stringify(meta)},`);
  }
  lines.push('} as const;');
  lines.push('');
  lines.push('export type OperationId = keyof Handlers;');
  lines.push('export const operationIds = Object.keys(operations) as OperationId[];');
  return lines.join('\n') + '\n';
}

export function renderRegistry(ops: OperationInfo[], service: string): string {
  const lines = [`import type { Handlers } from './operations';`];
  for (const op of ops) lines.push(`import { ${op.operationId} } from '../../handlers/${service}/${op.file}';`);
  lines.push('');
  lines.push('/** Hand-written handlers (handlers/' + service + '/<operation>.ts) wired by operationId. */');
  lines.push('export const handlers = {');
  for (const op of ops) lines.push(`  ${op.operationId},`);
  lines.push('} satisfies Handlers;');
  return lines.join('\n') + '\n';
}

export function renderHandlerSkeleton(op: OperationInfo, service: string): string {
  return `import type { Handler } from '../../generated/${service}/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** ${op.method.toUpperCase()} ${op.path} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const ${op.operationId}: Handler<'${op.operationId}'> = notImplemented('${op.operationId}');
`;
}

export function renderApiModule(service: string): string {
  return `import { loadDefinition as loadBundled } from '../../src/platform/spec';

export const serviceName = '${service}';

/** The bundled, self-contained spec this service is routed and validated by. */
export const loadDefinition = () => loadBundled(serviceName);
`;
}
