/**
 * Compares one schema of a published spec with its new version, in the direction data flows:
 * a request schema may accept more but not less (`request-*` rules), a response schema may
 * promise more but not less (`response-*` rules). Follows `$ref`s in each document, stops on
 * recursion, flattens `allOf`, matches `anyOf`/`oneOf` variants by `$ref` name or position.
 */
import type { Finding, RuleId } from './rules';

type Json = any;
export type Direction = 'request' | 'response';

export interface SchemaContext {
  before: Json;
  after: Json;
  direction: Direction;
  operation: string;
  /** Prefix of `where`, e.g. `response 200 application/json`. */
  where: string;
  report: (f: Finding) => void;
}

export function resolveRef(doc: Json, node: Json): Json {
  let n = node;
  for (let i = 0; n && typeof n.$ref === 'string' && i < 32; i++) {
    n = n.$ref
      .replace(/^#\//, '')
      .split('/')
      .map((k: string) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((acc: Json, k: string) => acc?.[k], doc);
  }
  return n;
}

function flattenAllOf(doc: Json, schema: Json): Json {
  if (!Array.isArray(schema?.allOf)) return schema;
  const { allOf, ...rest } = schema;
  const out: Json = { ...rest, properties: { ...(rest.properties ?? {}) }, required: [...(rest.required ?? [])] };
  for (const part of allOf) {
    const p = flattenAllOf(doc, resolveRef(doc, part));
    Object.assign(out.properties, p?.properties ?? {});
    out.required.push(...(p?.required ?? []));
    for (const [k, v] of Object.entries(p ?? {})) if (!['properties', 'required'].includes(k) && !(k in out)) out[k] = v;
  }
  if (!out.type && Object.keys(out.properties).length) out.type = 'object';
  return out;
}

/** The JSON types a schema admits (`any` when it names none). */
function types(s: Json): Set<string> {
  const t = new Set<string>();
  if (typeof s.type === 'string') t.add(s.type);
  else if (Array.isArray(s.type)) s.type.forEach((x: string) => t.add(x));
  else if (s.properties || s.additionalProperties !== undefined) t.add('object');
  else if (s.items) t.add('array');
  else if (!s.anyOf && !s.oneOf && !s.enum) t.add('any');
  if (s.nullable === true) t.add('null');
  return t;
}

function admits(set: Set<string>, type: string): boolean {
  return set.has('any') || set.has(type) || (type === 'integer' && set.has('number'));
}

const LOWER = ['minimum', 'minLength', 'minItems', 'minProperties'] as const;
const UPPER = ['maximum', 'maxLength', 'maxItems', 'maxProperties'] as const;
const EXACT = ['pattern', 'format', 'multipleOf'] as const;

const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));

export function compareSchemas(ctx: SchemaContext, before: Json, after: Json, path = '', seen = new Set<string>()): void {
  if (!before || !after) return;
  if (before.$ref || after.$ref) {
    // inline schemas are finite trees; only $refs can recurse
    const refPair = `${before.$ref ?? ''}|${after.$ref ?? ''}`;
    if (seen.has(refPair)) return;
    seen = new Set(seen).add(refPair);
  }
  const b = flattenAllOf(ctx.before, resolveRef(ctx.before, before));
  const a = flattenAllOf(ctx.after, resolveRef(ctx.after, after));
  if (!b || !a) return;
  const req = ctx.direction === 'request';
  const report = (rule: RuleId, message: string, where = path) =>
    ctx.report({ rule, operation: ctx.operation, where: [ctx.where, where].filter(Boolean).join(' '), message });

  // types and nullable
  const bt = types(b);
  const at_ = types(a);
  if (req) {
    for (const t of bt) if (!admits(at_, t)) report('request-type-narrowed', `no longer accepts ${t} (was ${[...bt].join('|')}, now ${[...at_].join('|')})`);
  } else {
    for (const t of at_) if (!admits(bt, t)) report('response-type-widened', `may now be ${t} (was ${[...bt].join('|')}, now ${[...at_].join('|')})`);
  }

  // enums
  if (Array.isArray(b.enum) && Array.isArray(a.enum)) {
    const removed = b.enum.filter((v: unknown) => !a.enum.some((w: unknown) => JSON.stringify(w) === JSON.stringify(v)));
    for (const v of removed) report('enum-value-removed', `enum value ${JSON.stringify(v)} removed`);
  } else if (req && !Array.isArray(b.enum) && Array.isArray(a.enum)) {
    report('request-type-narrowed', `now restricted to ${JSON.stringify(a.enum)}`);
  } else if (!req && Array.isArray(b.enum) && !Array.isArray(a.enum)) {
    report('response-type-widened', `no longer restricted to ${JSON.stringify(b.enum)}`);
  }

  // bounds: a request may loosen them, a response may tighten them
  const bound = (key: string, lower: boolean) => {
    const was = b[key];
    const now = a[key];
    if (was === now) return;
    const tighter = now !== undefined && (was === undefined || (lower ? now > was : now < was));
    if (req && tighter) report('request-type-narrowed', `${key} ${show(was)} → ${show(now)}`);
    if (!req && !tighter) report('response-type-widened', `${key} ${show(was)} → ${show(now)}`);
  };
  LOWER.forEach((k) => bound(k, true));
  UPPER.forEach((k) => bound(k, false));
  for (const key of ['exclusiveMinimum', 'exclusiveMaximum', 'uniqueItems'] as const) {
    if (!!b[key] === !!a[key]) continue;
    if (req && a[key]) report('request-type-narrowed', `${key} false → true`);
    if (!req && !a[key]) report('response-type-widened', `${key} true → false`);
  }
  for (const key of EXACT) {
    if (b[key] === a[key]) continue;
    if (req && a[key] !== undefined) report('request-type-narrowed', `${key} ${show(b[key])} → ${show(a[key])}`);
    if (!req && b[key] !== undefined) report('response-type-widened', `${key} ${show(b[key])} → ${show(a[key])}`);
  }

  // objects
  const skip = (s: Json) => (req ? s?.readOnly === true : s?.writeOnly === true);
  const bp: Record<string, Json> = b.properties ?? {};
  const ap: Record<string, Json> = a.properties ?? {};
  const bReq = new Set<string>(b.required ?? []);
  const aReq = new Set<string>(a.required ?? []);
  const sub = (name: string) => (path ? `${path}.${name}` : name);
  for (const [name, bs] of Object.entries(bp)) {
    if (skip(resolveRef(ctx.before, bs))) continue;
    if (!(name in ap)) {
      report(req ? 'request-property-removed' : 'response-property-removed', 'removed', sub(name));
      continue;
    }
    if (!req && bReq.has(name) && !aReq.has(name)) report('response-property-became-optional', 'was required, now optional', sub(name));
    compareSchemas(ctx, bs, ap[name], sub(name), seen);
  }
  if (req) {
    for (const name of aReq) {
      if (bReq.has(name) || skip(resolveRef(ctx.after, ap[name]))) continue;
      if (name in bp) report('request-property-became-required', 'was optional, now required', sub(name));
      else report('request-property-added-required', 'new required property', sub(name));
    }
    if (b.additionalProperties !== false && a.additionalProperties === false && bt.has('object')) {
      report('request-type-narrowed', 'no longer accepts properties it does not list (additionalProperties: false)');
    }
  }
  if (isSchema(b.additionalProperties) && isSchema(a.additionalProperties)) {
    compareSchemas(ctx, b.additionalProperties, a.additionalProperties, `${path}{*}`, seen);
  }

  // arrays
  if (b.items && a.items) compareSchemas(ctx, b.items, a.items, `${path}[]`, seen);

  // variants
  for (const key of ['anyOf', 'oneOf'] as const) {
    const bv: Json[] = b[key] ?? [];
    const av: Json[] = a[key] ?? [];
    if (!bv.length && !av.length) continue;
    const name = (s: Json, i: number) => s?.$ref?.split('/').pop() ?? `#${i}`;
    const match = (s: Json, i: number, list: Json[]) => (s?.$ref ? list.find((x) => x?.$ref?.split('/').pop() === name(s, i)) : list[i]);
    bv.forEach((s, i) => {
      const m = match(s, i, av);
      if (m) compareSchemas(ctx, s, m, `${path}<${name(s, i)}>`, seen);
      else if (req && av.length) report('request-type-narrowed', `${key} variant ${name(s, i)} no longer accepted`);
    });
    if (!req && bv.length) {
      av.forEach((s, i) => {
        if (!match(s, i, bv)) report('response-type-widened', `${key} variant ${name(s, i)} added`);
      });
    }
  }
}

function isSchema(v: unknown): boolean {
  return !!v && typeof v === 'object';
}
