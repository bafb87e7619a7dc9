/**
 * Builds the Postman v2.1 collection from the folders in ./folders (in file-name order) and checks
 * every request against the specs while doing so: a request through the validating proxy must hit
 * a specified operation, and every expected status must be one that operation documents. `npm run
 * gen` writes the result to generated/postman/; `contract-tests/newman.sh` runs it.
 *
 * To add a request: add a `request({...})` to the folder of its journey (or a new
 * `folders/NN-<journey>.ts` exporting `folder(...)` as default and listed in FOLDERS below), then
 * `npm run gen`.
 */
import type { FolderSpec, RequestSpec, Service } from './dsl';
import { SERVICE_VAR } from './dsl';
import auth from './folders/00-auth';
import catalog from './folders/01-catalog';
import workspace from './folders/02-workspace';
import billing from './folders/03-billing';
import gateway from './folders/04-gateway';
import errors from './folders/05-errors';
import rag from './folders/06-rag';
import commerce from './folders/07-commerce';
import publisher from './folders/08-publisher';
import connectors from './folders/09-connectors';
import rateLimit from './folders/10-rate-limit';
import triggers from './folders/11-triggers';
import notifications from './folders/12-notifications';
import uploadsAndHandover from './folders/13-uploads-and-handover';

export const FOLDERS: FolderSpec[] = [auth, catalog, workspace, billing, gateway, errors, rag, commerce, publisher, connectors, rateLimit, triggers, notifications, uploadsAndHandover];

type Json = any;
const BUILTIN_VARS = new Set(['$guid', '$timestamp', '$randomInt']);
const SPEC_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

export interface BuiltCollection {
  collection: Json;
  requests: number;
  assertions: number;
}

/** The operation of `spec` a concrete path (with `{{VARS}}`) hits, or undefined. */
export function matchOperation(spec: Json, method: string, path: string): { template: string; op: Json } | undefined {
  const segs = path.split('/');
  let best: { template: string; op: Json; literal: number } | undefined;
  for (const [template, item] of Object.entries<Json>(spec.paths ?? {})) {
    const op = item?.[method.toLowerCase()];
    if (!op) continue;
    const tsegs = template.split('/');
    if (tsegs.length !== segs.length) continue;
    let literal = 0;
    const ok = tsegs.every((t, i) => {
      if (/^\{[^}]+\}$/.test(t)) return segs[i].length > 0;
      if (t === segs[i]) return ++literal > 0;
      return false;
    });
    if (ok && (!best || literal > best.literal)) best = { template, op, literal };
  }
  return best && { template: best.template, op: best.op };
}

function parseCall(r: RequestSpec): { method: string; path: string } {
  const m = /^(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS) (\S+)$/.exec(r.call);
  if (!m) throw new Error(`${r.name}: call must be "METHOD /path", got ${JSON.stringify(r.call)}`);
  return { method: m[1], path: m[2].split('?')[0] };
}

const testLine = (name: string, code: string) => `pm.test(${JSON.stringify(name)}, () => { ${code} });`;

function script(r: RequestSpec): { exec: string[]; assertions: number } {
  const lines = [
    'const body = (() => { try { return pm.response.json(); } catch (e) { return undefined; } })();',
    'const res = pm.response;',
    'const v = (name) => pm.collectionVariables.get(name);',
    testLine(`status ${r.status}`, `pm.response.to.have.status(${r.status});`),
  ];
  let assertions = 1;
  if (r.error) {
    lines.push(testLine('canonical error body with traceId = X-Request-Id', "pm.expect(Object.keys(body)).to.eql(['error']); pm.expect(body.error.message).to.be.a('string'); pm.expect(body.error.traceId).to.eql(res.headers.get('X-Request-Id'));"));
    lines.push(testLine(`error code ${r.error}`, `pm.expect(body.error.code).to.eql(${JSON.stringify(r.error)});`));
    assertions += 2;
  }
  for (const [name, code] of r.checks ?? []) {
    lines.push(testLine(name, code));
    assertions++;
  }
  // saves run only on the expected status, so a failure does not cascade into confusing ones
  const saves = Object.entries(r.saves ?? {});
  if (saves.length) {
    lines.push(`if (pm.response.code === ${r.status}) {`);
    for (const [name, expr] of saves) lines.push(`  pm.collectionVariables.set(${JSON.stringify(name)}, ${expr});`);
    lines.push('}');
  }
  if (r.poll) {
    const max = r.poll.max ?? 60;
    lines.push(
      `const polls = Number(v('POLLS') || 0) + 1;`,
      `if (!(${r.poll.until}) && polls < ${max}) {`,
      `  pm.collectionVariables.set('POLLS', polls);`,
      `  setTimeout(() => {}, 200);`,
      `  pm.execution.setNextRequest(pm.info.requestName);`,
      `} else {`,
      `  pm.collectionVariables.set('POLLS', 0);`,
      ...(r.poll.then ?? []).map(([name, code]) => `  ${testLine(name, code)}`),
      `}`,
    );
    assertions += r.poll.then?.length ?? 0;
  }
  return { exec: lines, assertions };
}

function checkAgainstSpec(r: RequestSpec, specs: Record<Service, Json>): string | undefined {
  if (!r.service) return r.url && r.direct ? undefined : `${r.name}: give a service, or a url with a reason in \`direct\``;
  const { method, path } = parseCall(r);
  const hit = matchOperation(specs[r.service], method, path);
  if (!hit) return r.direct ? undefined : `${r.name}: ${method} ${path} is not an operation of the ${r.service} spec (a deliberate off-spec call needs \`direct\`)`;
  if (!SPEC_METHODS.includes(method.toLowerCase())) return `${r.name}: unsupported method ${method}`;
  if (!(String(r.status) in (hit.op.responses ?? {}))) {
    return `${r.name}: ${hit.op.operationId} does not document status ${r.status} (documented: ${Object.keys(hit.op.responses ?? {}).join(', ')})`;
  }
  return undefined;
}

function toItem(r: RequestSpec, specs: Record<Service, Json>): { item: Json; assertions: number } {
  const { method } = parseCall(r);
  const base = r.service ? `{{${SERVICE_VAR[r.service]}_${r.direct ? 'DIRECT' : 'BASE'}}}` : '';
  const url = r.url ?? base + r.call.slice(method.length + 1);
  const headers: { key: string; value: string }[] = [];
  if (r.service) headers.push({ key: 'X-Request-Id', value: '{{$guid}}' });
  if (r.token) headers.push({ key: 'Authorization', value: `Bearer {{${r.token}}}` });
  if (r.idempotencyKey) headers.push({ key: 'Idempotency-Key', value: r.idempotencyKey });
  for (const [key, value] of Object.entries(r.headers ?? {})) headers.push({ key, value });
  if (r.body !== undefined && !headers.some((h) => h.key.toLowerCase() === 'content-type')) headers.push({ key: 'Content-Type', value: 'application/json' });
  const op = r.service ? matchOperation(specs[r.service], method, parseCall(r).path)?.op : undefined;
  const description = [
    r.description,
    op ? `Operation: ${r.service} ${op.operationId}.` : undefined,
    r.direct ? `Sent straight to ${r.service ?? 'the target'}, not through the validating proxy: ${r.direct}.` : 'Sent through the validating proxy (Prism --errors).',
  ].filter(Boolean).join(' ');
  const { exec, assertions } = script(r);
  const request: Json = { method, header: headers, url, description };
  if (r.body !== undefined) request.body = { mode: 'raw', raw: typeof r.body === 'string' ? r.body : JSON.stringify(r.body, null, 2) };
  const event: Json[] = [{ listen: 'test', script: { type: 'text/javascript', exec } }];
  if (r.prerequest?.length) event.unshift({ listen: 'prerequest', script: { type: 'text/javascript', exec: r.prerequest } });
  return { item: { name: r.name, request, event }, assertions };
}

export function buildCollection(specs: Record<Service, Json>, folders: FolderSpec[] = FOLDERS): BuiltCollection {
  const problems: string[] = [];
  const names = new Set<string>();
  const vars = new Set<string>(['POLLS']);
  let requests = 0;
  let assertions = 0;
  const item = folders.map((f) => ({
    name: f.name,
    description: f.description,
    item: f.requests.map((r) => {
      if (names.has(r.name)) problems.push(`${r.name}: request names must be unique (polling jumps by name)`);
      names.add(r.name);
      const problem = checkAgainstSpec(r, specs);
      if (problem) problems.push(problem);
      const built = toItem(r, specs);
      requests++;
      assertions += built.assertions;
      const text = JSON.stringify(built.item);
      for (const m of text.matchAll(/\{\{([^}]+)\}\}/g)) if (!BUILTIN_VARS.has(m[1])) vars.add(m[1]);
      for (const m of text.matchAll(/collectionVariables\.(?:get|set)\((\\?")([A-Z0-9_]+)\1/g)) vars.add(m[2]);
      for (const m of text.matchAll(/v\('([A-Z0-9_]+)'\)/g)) vars.add(m[1]);
      return built.item;
    }),
  }));
  if (problems.length) throw new Error(`the Postman collection does not match the specs:\n  ${problems.join('\n  ')}`);
  const collection = {
    info: {
      _postman_id: '6f1f6d5e-2b0c-4f39-9a51-1e2b9c0d7a11',
      name: 'Agent Store platform',
      description:
        'Code generated by scripts/gen from contract-tests/postman/; DO NOT EDIT. Regenerate with: npm run gen. ' +
        'Journeys T1–T12 against a running stack (contract-tests/newman.sh starts one, with a Prism validating proxy in front of every service: ' +
        '*_BASE variables point at the proxies, *_DIRECT at the services). ' +
        `${requests} requests, ${assertions} assertions.`,
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    },
    item,
    variable: [...vars].sort().map((key) => ({ key, value: '' })),
  };
  return { collection, requests, assertions };
}

