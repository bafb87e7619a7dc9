/**
 * Breaking changes between a published (bundled) OpenAPI 3.0 spec and its new version, for the
 * consumers of the published one. Paths are matched with their template variables' names ignored
 * (`/instances/{id}` is `/instances/{instanceId}`), path parameters by position, other parameters
 * by `in` + name (headers case-insensitively), responses by status code, media types exactly.
 *
 * Why a diff of our own: the maintained tools that install from npm were tried on these specs
 * (the issue's example, `RunResult.billing` made optional and `creditsCharged` made a number):
 * api-smart-diff 1.0.6 classifies integer → number in a response as non-breaking; openapi-diff
 * 0.24.1 flags it only as an unnamed `response.body.scope.add` of the whole body; @useoptic/optic
 * 1.0.9 crashes at start on Node 20; oasdiff has no npm build.
 */
import { compareSchemas, resolveRef, type Direction } from './schema-diff';
import type { Finding } from './rules';

type Json = any;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

const template = (path: string) => path.replace(/\{[^}]+\}/g, '{}');

function parameters(doc: Json, item: Json, op: Json, path: string): Map<string, Json> {
  const out = new Map<string, Json>();
  const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  for (const raw of [...(item.parameters ?? []), ...(op.parameters ?? [])]) {
    const p = resolveRef(doc, raw);
    if (!p) continue;
    const key = p.in === 'path' ? `path #${pathParams.indexOf(p.name) + 1}` : `${p.in} ${p.in === 'header' ? String(p.name).toLowerCase() : p.name}`;
    out.set(key, p); // operation-level parameters override path-level ones
  }
  return out;
}

export function breakingChanges(before: Json, after: Json): Finding[] {
  const findings: Finding[] = [];
  const report = (f: Finding) => findings.push(f);
  const afterPaths = new Map(Object.keys(after.paths ?? {}).map((p) => [template(p), p]));

  for (const [path, bItem0] of Object.entries<Json>(before.paths ?? {})) {
    const bItem = resolveRef(before, bItem0);
    const aPath = afterPaths.get(template(path));
    if (!aPath) {
      report({ rule: 'path-removed', operation: path, where: '', message: 'removed (renamed?)' });
      continue;
    }
    const aItem = resolveRef(after, after.paths[aPath]);
    for (const method of METHODS.filter((m) => bItem[m])) {
      const operation = `${method.toUpperCase()} ${path}`;
      const bOp = bItem[method];
      const aOp = aItem[method];
      if (!aOp) {
        report({ rule: 'operation-removed', operation, where: '', message: `${bOp.operationId} removed` });
        continue;
      }
      if (bOp.operationId && bOp.operationId !== aOp.operationId) {
        report({ rule: 'operation-id-changed', operation, where: '', message: `operationId ${bOp.operationId} → ${aOp.operationId}` });
      }
      compareOperation(before, after, operation, { item: bItem, op: bOp, path }, { item: aItem, op: aOp, path: aPath }, report);
    }
  }
  return findings;
}

interface Side {
  item: Json;
  op: Json;
  path: string;
}

function compareOperation(before: Json, after: Json, operation: string, b: Side, a: Side, report: (f: Finding) => void): void {
  const schemas = (direction: Direction, where: string, bs: Json, as: Json) =>
    compareSchemas({ before, after, direction, operation, where, report }, bs, as);

  // parameters
  const bParams = parameters(before, b.item, b.op, b.path);
  const aParams = parameters(after, a.item, a.op, a.path);
  for (const [key, bp] of bParams) {
    const ap = aParams.get(key);
    const where = `${bp.in} parameter ${bp.name}`;
    if (!ap) {
      report({ rule: 'parameter-removed', operation, where, message: 'removed (renamed?)' });
      continue;
    }
    if (!bp.required && ap.required) report({ rule: 'parameter-became-required', operation, where, message: 'was optional, now required' });
    schemas('request', where, bp.schema, ap.schema);
  }
  for (const [key, ap] of aParams) {
    if (bParams.has(key) || !ap.required) continue;
    const where = `${ap.in} parameter ${ap.name}`;
    report({ rule: 'parameter-added-required', operation, where, message: 'new and required' });
  }

  // request body
  const bBody = resolveRef(before, b.op.requestBody);
  const aBody = resolveRef(after, a.op.requestBody);
  if (aBody?.required && !bBody?.required) {
    report({ rule: 'request-body-became-required', operation, where: 'request body', message: bBody ? 'was optional, now required' : 'new and required' });
  }
  if (bBody && aBody) {
    for (const [media, bm] of Object.entries<Json>(bBody.content ?? {})) {
      const am = aBody.content?.[media];
      const where = `request ${media}`;
      if (!am) report({ rule: 'media-type-removed', operation, where, message: 'no longer accepted' });
      else schemas('request', where, bm.schema, am.schema);
    }
  }

  // responses
  for (const [status, br0] of Object.entries<Json>(b.op.responses ?? {})) {
    const ar0 = a.op.responses?.[status];
    if (!ar0) {
      report({ rule: 'status-code-removed', operation, where: `response ${status}`, message: 'no longer documented' });
      continue;
    }
    const br = resolveRef(before, br0);
    const ar = resolveRef(after, ar0);
    for (const [media, bm] of Object.entries<Json>(br.content ?? {})) {
      const am = ar.content?.[media];
      const where = `response ${status} ${media}`;
      if (!am) report({ rule: 'media-type-removed', operation, where, message: 'no longer answered' });
      else schemas('response', where, bm.schema, am.schema);
    }
    const aHeaders = new Map(Object.entries<Json>(ar.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    for (const [name, bh0] of Object.entries<Json>(br.headers ?? {})) {
      const ah0 = aHeaders.get(name.toLowerCase());
      const where = `response ${status} header ${name}`;
      if (!ah0) {
        report({ rule: 'response-header-removed', operation, where, message: 'no longer documented' });
        continue;
      }
      schemas('response', where, resolveRef(before, bh0).schema, resolveRef(after, ah0).schema);
    }
  }
}
