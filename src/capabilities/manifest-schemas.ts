/**
 * Validation of desired-state manifests against the platform's CRDs (gitops/crds/*.yaml) and the
 * builtin schemas of the standard kinds it emits (gitops/crds/builtin/*.schema.json).
 *
 * Emulates the API server with strict field validation (see gitops/crds/README.md): unknown fields
 * are errors, `x-kubernetes-list-type: set|map` lists must be unique, `metadata` must be a valid
 * ObjectMeta for a committed object, `status` is never committed, and a kind without a schema is
 * an error. The built-in GitOps reconciler calls `validateManifest` for every committed manifest.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { projectPath } from '../platform/paths';
import type { ConfigIssue } from './handler-types';
import { ajvIssues, issue } from './issues';

export const DEFAULT_CRD_DIR = projectPath('gitops', 'crds') + '/';

const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const QUALIFIED_NAME =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';

/** ObjectMeta of a committed object: what a desired-state file may say (no server-set fields). */
const OBJECT_META = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS1123_SUBDOMAIN },
    namespace: { type: 'string', minLength: 1, maxLength: 63, pattern: DNS1123_LABEL },
    labels: {
      type: 'object',
      propertyNames: { maxLength: 317, pattern: QUALIFIED_NAME },
      additionalProperties: { type: 'string', maxLength: 63, pattern: LABEL_VALUE },
    },
    annotations: {
      type: 'object',
      propertyNames: { maxLength: 317, pattern: QUALIFIED_NAME },
      additionalProperties: { type: 'string' },
    },
    finalizers: { type: 'array', items: { type: 'string', pattern: QUALIFIED_NAME } },
  },
};

type Json = Record<string, any>;

export interface ManifestKind {
  apiVersion: string;
  kind: string;
  /** The file the schema came from, relative to the CRD directory. */
  source: string;
}

export interface ManifestSchemaSet {
  kinds(): ManifestKind[];
  validate(manifest: unknown): ConfigIssue[];
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Turns a structural (Kubernetes) schema into the JSON Schema strict field validation amounts to.
 * Logical junctors (`oneOf`, `anyOf`, `allOf`, `not`) only carry value validations in structural
 * schemas, so they are left as they are.
 */
export function strictSchema(node: unknown, root = true): unknown {
  if (!isObject(node)) return node;
  const out: Json = { ...node };
  if (isObject(out.properties)) {
    const props: Json = {};
    for (const [k, v] of Object.entries(out.properties)) props[k] = root && k === 'metadata' ? OBJECT_META : strictSchema(v, false);
    out.properties = props;
    if (out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  }
  if (isObject(out.additionalProperties)) out.additionalProperties = strictSchema(out.additionalProperties, false);
  if (isObject(out.items)) out.items = strictSchema(out.items, false);
  if (out['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  return out;
}

/**
 * CRD patterns are Go (RE2) regular expressions; the one construct of theirs JavaScript lacks and
 * upstream CRDs use is an inline flag group such as `^(?i)(abort|warn)?$`: it becomes the `i` flag.
 */
const goRegExp = Object.assign(
  (pattern: string, flags: string) => (pattern.includes('(?i)') ? new RegExp(pattern.replaceAll('(?i)', ''), `${flags}i`) : new RegExp(pattern, flags)),
  { code: 'new RegExp' },
);

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: goRegExp as never } });
  addFormats(ajv);
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-map-keys',
    type: 'array',
    schemaType: 'array',
    validate: function mapKeys(keys: string[], data: unknown[]) {
      const seen = new Set<string>();
      for (const item of data) {
        if (!isObject(item)) continue;
        const key = JSON.stringify(keys.map((k) => item[k]));
        if (seen.has(key)) {
          (mapKeys as any).errors = [
            { keyword: 'x-kubernetes-list-map-keys', message: `has duplicate entries for key ${keys.join(', ')} = ${key}`, params: { keys } },
          ];
          return false;
        }
        seen.add(key);
      }
      return true;
    },
    errors: true,
  });
  return ajv;
}

/** Loads every CRD (`*.yaml` documents of kind CustomResourceDefinition) and builtin schema in `dir`. */
export function loadManifestSchemas(dir: string = DEFAULT_CRD_DIR): ManifestSchemaSet {
  const ajv = newAjv();
  const validators = new Map<string, { kind: ManifestKind; validate: ValidateFunction }>();
  const add = (apiVersion: string, kind: string, source: string, schema: unknown) => {
    const key = `${apiVersion}\u0000${kind}`;
    if (validators.has(key)) throw new Error(`${source}: ${apiVersion} ${kind} is defined twice (also in ${validators.get(key)!.kind.source})`);
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(strictSchema(schema) as object);
    } catch (err) {
      throw new Error(`${source}: the schema of ${apiVersion} ${kind} does not compile: ${(err as Error).message}`);
    }
    validators.set(key, { kind: { apiVersion, kind, source }, validate });
  };

  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const crd = doc.toJS() as Json | null;
      if (!crd || crd.kind !== 'CustomResourceDefinition') continue;
      if (crd.apiVersion !== 'apiextensions.k8s.io/v1') throw new Error(`${file}: CRDs must be apiextensions.k8s.io/v1`);
      const { group, names, versions } = crd.spec ?? {};
      for (const v of versions ?? []) {
        if (!v.served) continue;
        const schema = v.schema?.openAPIV3Schema;
        if (!isObject(schema)) throw new Error(`${file}: ${names?.kind} ${v.name} has no openAPIV3Schema`);
        add(`${group}/${v.name}`, names.kind, file, schema);
      }
    }
  }
  const builtinDir = join(dir, 'builtin');
  for (const file of (existsSync(builtinDir) ? readdirSync(builtinDir) : []).filter((f) => f.endsWith('.schema.json')).sort()) {
    const schema = JSON.parse(readFileSync(join(builtinDir, file), 'utf8')) as Json;
    const gvks = schema['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks) || gvks.length === 0) throw new Error(`builtin/${file}: x-kubernetes-group-version-kind is missing`);
    for (const { group, version, kind } of gvks) add(group ? `${group}/${version}` : version, kind, `builtin/${file}`, schema);
  }

  return {
    kinds: () => [...validators.values()].map((v) => v.kind),
    validate(manifest) {
      if (!isObject(manifest)) return [issue('', 'a manifest must be an object')];
      const { apiVersion, kind } = manifest;
      if (typeof apiVersion !== 'string' || apiVersion === '') return [issue('/apiVersion', 'is required')];
      if (typeof kind !== 'string' || kind === '') return [issue('/kind', 'is required')];
      const entry = validators.get(`${apiVersion}\u0000${kind}`);
      if (!entry) {
        const other = [...validators.values()].find((v) => v.kind.kind === kind);
        return [
          other
            ? issue('/apiVersion', `${kind} is served as ${other.kind.apiVersion}, not ${apiVersion}`)
            : issue('/kind', `unknown kind ${apiVersion} ${kind}: no CRD in gitops/crds and no builtin schema`),
        ];
      }
      const issues = entry.validate(manifest) ? [] : ajvIssues(entry.validate.errors);
      if ('status' in manifest) issues.push(issue('/status', 'is written by the controller and is never part of desired state'));
      return issues;
    },
  };
}

let cached: ManifestSchemaSet | undefined;

/** The schemas under gitops/crds, loaded once per process. */
export function manifestSchemas(): ManifestSchemaSet {
  cached ??= loadManifestSchemas();
  return cached;
}

/**
 * Issues of one manifest against its CRD (or builtin) schema; `[]` when it is valid. A kind with no
 * schema is an error, never a pass.
 */
export function validateManifest(manifest: unknown): ConfigIssue[] {
  return manifestSchemas().validate(manifest);
}
