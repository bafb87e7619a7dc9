/**
 * The error responses of every operation, from the table in specs/errors.yaml: each error status
 * an operation declares (or the table adds) becomes an inline response whose JSON content has one
 * named example per error code the operation answers under that status (`examples.<CODE>`), so a
 * mock asked `Prefer: code=403, example=INSUFFICIENT_CREDITS` answers exactly that body, and the
 * documentation lists what each operation really answers. Runs on the bundled spec, before the
 * types, clients and collection are generated from it.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

type Json = any;

export const ERROR_TABLE_FILE = 'specs/errors.yaml';

export interface ErrorTable {
  byStatus: Record<string, string[]>;
  withBody: Record<string, string[]>;
  secured: Record<string, string[]>;
  operations: Record<string, Record<string, string[]>>;
  examples: Record<string, { message: string; details?: Record<string, unknown> }>;
}

const TRACE_ID = 'req_01J9ZK3V7W4Q2N8M5R6T';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const ADDED_DESCRIPTIONS: Record<string, string> = {
  '400': 'The request breaks the schema (every violation listed in `details.errors`) or is malformed JSON.',
  '401': 'Missing, expired or invalid credentials.',
  '403': 'Authenticated but not allowed.',
  '404': "No such resource in the caller's scope.",
  '409': 'The request conflicts with the current state or an earlier request with the same key.',
  '413': 'The request or its input is too large.',
  '415': 'The request body is not in a media type the operation accepts.',
  '422': 'Well-formed but semantically invalid.',
  '429': 'Too many requests; `Retry-After` says when to come back.',
  '502': 'A dependency answered with an error.',
  '503': 'A dependency is unavailable; nothing was changed. Retry.',
  '504': 'A dependency did not answer in time.',
};

export function loadErrorTable(file = ERROR_TABLE_FILE): ErrorTable {
  const t = parse(readFileSync(file, 'utf8')) as Partial<ErrorTable>;
  return { byStatus: t.byStatus ?? {}, withBody: t.withBody ?? {}, secured: t.secured ?? {}, operations: t.operations ?? {}, examples: t.examples ?? {} };
}

/** Rewrites `spec`'s error responses in place from `table`; throws on a code the spec does not define. */
export function applyErrorTable(spec: Json, table: ErrorTable, specName: string): void {
  const known = new Set<string>(spec.components?.schemas?.ErrorCode?.enum ?? []);
  const check = (code: string, where: string) => {
    if (!known.has(code)) throw new Error(`${ERROR_TABLE_FILE}: ${where} names ${code}, which is not an ErrorCode of ${specName}`);
  };
  for (const [code] of Object.entries(table.examples)) check(code, `examples.${code}`);
  const resolve = (r: Json): Json => {
    if (!r?.$ref) return r;
    const name = String(r.$ref).replace('#/components/responses/', '');
    return spec.components?.responses?.[name];
  };
  const seen = new Set<string>();
  for (const item of Object.values<Json>(spec.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (!op?.operationId) continue;
      seen.add(op.operationId);
      const own = table.operations[op.operationId] ?? {};
      const secured = (op.security ?? spec.security ?? []).some((req: Json) => Object.keys(req ?? {}).length > 0);
      // Codes every operation of a kind answers: with a body, with credentials.
      const common: Record<string, string[]> = {};
      const addCommon = (rows: Record<string, string[]>) => {
        for (const [st, cs] of Object.entries(rows)) common[st] = [...new Set([...(common[st] ?? []), ...cs])];
      };
      if (op.requestBody) addCommon(table.withBody);
      if (secured) addCommon(table.secured);
      op.responses ??= {};
      const statuses = new Set<string>([...Object.keys(op.responses).filter((s) => /^[45]\d\d$/.test(s)), ...Object.keys(own), ...Object.keys(common)]);
      for (const status of [...statuses].sort()) {
        const base = resolve(op.responses[status]);
        const media = base?.content?.['application/json'];
        const declaredExamples: Record<string, Json> = {};
        if (media?.example?.error?.code) declaredExamples[media.example.error.code] = media.example;
        for (const ex of Object.values<Json>(media?.examples ?? {})) if (ex?.value?.error?.code) declaredExamples[ex.value.error.code] = ex.value;
        const codes: string[] = [...new Set([...(own[status] ?? [...(table.byStatus[status] ?? []), ...Object.keys(declaredExamples)]), ...(common[status] ?? [])])];
        if (!codes.length) continue;
        for (const code of codes) check(code, `${op.operationId} ${status}`);
        const examples: Record<string, Json> = {};
        for (const code of codes) {
          const row = table.examples[code];
          const value = declaredExamples[code] ?? { error: { code, message: row?.message ?? code, ...(row?.details ? { details: row.details } : {}), traceId: TRACE_ID } };
          examples[code] = { summary: row?.message ?? code, value };
        }
        const headers: Json = { ...(base?.headers ?? { 'X-Request-Id': requestIdHeader(spec) }) };
        if (status === '429' && !headers['Retry-After']) headers['Retry-After'] = retryAfterHeader(spec);
        // A shared response keeps its wording only when it speaks of these codes.
        const shared = Boolean(op.responses[status]?.$ref);
        const fits = base?.description && (!shared || codes.every((c: string) => c in declaredExamples));
        const description = `${fits ? base.description.trim() : ADDED_DESCRIPTIONS[status] ?? 'Error.'} Codes: ${codes.map((c: string) => `\`${c}\``).join(', ')}.`;
        op.responses[status] = {
          description,
          headers,
          content: { 'application/json': { schema: media?.schema ?? { $ref: '#/components/schemas/ErrorResponse' }, examples } },
        };
      }
    }
  }
  // A row for an operation of another spec is fine; one no spec has is caught by the table test.
}

function requestIdHeader(spec: Json): Json {
  return spec.components?.headers?.RequestId ? { $ref: '#/components/headers/RequestId' } : { description: "The request's correlation id.", schema: { type: 'string' }, example: TRACE_ID };
}

function retryAfterHeader(spec: Json): Json {
  return spec.components?.headers?.RetryAfter ? { $ref: '#/components/headers/RetryAfter' } : { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 }, example: 30 };
}
