/**
 * Validates rendered Kubernetes objects the way an API server with strict field validation would
 * (`kubectl apply --validate=strict`), offline:
 *
 * - built-in kinds (core, apps, policy, networking, apiextensions…): the `kubernetes-models`
 *   package (generated from Kubernetes' own OpenAPI): its validator checks types, required
 *   fields and formats, and its TypeScript declarations — read through the TypeScript compiler —
 *   name every field a kind has, so an unknown field anywhere in the object is an error;
 * - third-party kinds (External Secrets, prometheus-operator, Argo CD): their upstream CRDs in
 *   gitops/schemas/upstream, and the platform's kinds: its CRDs in gitops/crds — both through
 *   src/capabilities/manifest-schemas.ts (structural schema → strict JSON Schema);
 * - any other kind is an error.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { loadManifestSchemas, type ManifestSchemaSet } from '../src/capabilities/manifest-schemas';
import { projectPath } from '../src/platform/paths';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

const require = createRequire(import.meta.url);
const BUILTIN_GROUPS = new Set(['', 'apps', 'policy', 'networking.k8s.io', 'apiextensions.k8s.io', 'rbac.authorization.k8s.io', 'autoscaling', 'batch']);

function gv(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** `kubernetes-models/apps/v1/Deployment` for apps/v1 Deployment. */
function modelPath(apiVersion: string, kind: string): string {
  const { group, version } = gv(apiVersion);
  return `kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`;
}

/** Field names per kind from kubernetes-models' declarations, through the TypeScript checker. */
class UnknownFieldChecker {
  private readonly checker: ts.TypeChecker;
  private readonly kinds = new Map<string, ts.Type>();

  constructor(kinds: { apiVersion: string; kind: string }[]) {
    const entry = join(projectPath(), '__k8s_kinds__.ts');
    const lines = kinds.map((k, i) => `import type { I${k.kind} as K${i} } from '${modelPath(k.apiVersion, k.kind)}';`);
    lines.push(`export interface Kinds {\n${kinds.map((k, i) => `  '${k.apiVersion} ${k.kind}': K${i};`).join('\n')}\n}`);
    const source = lines.join('\n');
    const options: ts.CompilerOptions = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true, types: [] };
    const host = ts.createCompilerHost(options);
    const read = host.getSourceFile.bind(host);
    host.getSourceFile = (file, lang, ...rest) => (file === entry ? ts.createSourceFile(file, source, lang) : read(file, lang, ...rest));
    const exists = host.fileExists.bind(host);
    host.fileExists = (file) => file === entry || exists(file);
    const program = ts.createProgram([entry], options, host);
    const diagnostics = ts.getPreEmitDiagnostics(program, program.getSourceFile(entry));
    if (diagnostics.length) throw new Error(`kubernetes-models types: ${ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n')}`);
    this.checker = program.getTypeChecker();
    const file = program.getSourceFile(entry)!;
    const kindsDecl = file.statements.find(ts.isInterfaceDeclaration)!;
    for (const member of kindsDecl.members) {
      const name = (member.name as ts.StringLiteral).text;
      this.kinds.set(name, this.checker.getTypeAtLocation(member));
    }
  }

  check(o: K8sObject): string[] {
    const type = this.kinds.get(`${o.apiVersion} ${o.kind}`);
    if (!type) return [`no type for ${o.apiVersion} ${o.kind}`];
    const out: string[] = [];
    this.walk(o, type, '', out);
    return out;
  }

  private objectParts(type: ts.Type): ts.Type[] {
    const t = this.checker.getNonNullableType(type);
    return (t.isUnion() ? t.types : [t]).filter((m) => (m.flags & ts.TypeFlags.Object) !== 0);
  }

  private walk(value: unknown, type: ts.Type, path: string, out: string[]): void {
    if ((type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) return;
    const parts = this.objectParts(type);
    if (parts.length === 0) return; // a scalar: its value is the validator's business
    if (Array.isArray(value)) {
      const arrays = parts.filter((p) => this.checker.isArrayType(p));
      if (!arrays.length) return;
      const element = this.checker.getTypeArguments(arrays[0] as ts.TypeReference)[0]!;
      value.forEach((v, i) => this.walk(v, element, `${path}[${i}]`, out));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    // An empty interface (JSONSchemaPropsOrArray, …: "anything, for serialization") names no fields.
    const open = parts.every((p) => this.checker.getPropertiesOfType(p).length === 0 && !this.checker.getIndexInfoOfType(p, ts.IndexKind.String));
    if (open) return;
    for (const [key, v] of Object.entries(value)) {
      let next: ts.Type | undefined;
      for (const p of parts) {
        const prop = this.checker.getPropertyOfType(p, key);
        if (prop) {
          next = this.checker.getTypeOfSymbol(prop);
          break;
        }
        const index = this.checker.getIndexInfoOfType(p, ts.IndexKind.String);
        if (index) {
          next = index.type;
          break;
        }
      }
      if (!next) out.push(`${path}/${key}: unknown field`);
      else this.walk(v, next, `${path}/${key}`, out);
    }
  }
}

export interface ManifestValidator {
  validate(o: K8sObject): string[];
}

/** A validator for every kind in `objects` (the TypeScript program is built once, for those kinds). */
export function manifestValidator(objects: K8sObject[]): ManifestValidator {
  const crdSchemas: ManifestSchemaSet[] = [loadManifestSchemas(projectPath('gitops', 'schemas', 'upstream')), loadManifestSchemas()];
  const builtin = new Map<string, { apiVersion: string; kind: string }>();
  for (const o of objects) if (BUILTIN_GROUPS.has(gv(o.apiVersion).group)) builtin.set(`${o.apiVersion} ${o.kind}`, { apiVersion: o.apiVersion, kind: o.kind });
  const fields = builtin.size ? new UnknownFieldChecker([...builtin.values()]) : undefined;
  // kubernetes-models is resolved from this project (CommonJS build: synchronous require).
  const root = dirname(require.resolve('kubernetes-models/package.json'));
  return {
    validate(o) {
      if (BUILTIN_GROUPS.has(gv(o.apiVersion).group)) {
        let Model: { new (data: unknown): { validate(): void } };
        try {
          Model = (require(join(root, modelPath(o.apiVersion, o.kind).slice('kubernetes-models/'.length))) as Record<string, typeof Model>)[o.kind]!;
        } catch {
          return [`unknown built-in kind ${o.apiVersion} ${o.kind}`];
        }
        const problems: string[] = [];
        try {
          new Model(o).validate();
        } catch (err) {
          problems.push(...String((err as Error).message).split('\n').filter(Boolean));
        }
        return [...problems, ...fields!.check(o)];
      }
      for (const set of crdSchemas) {
        if (set.kinds().some((k) => k.apiVersion === o.apiVersion && k.kind === o.kind)) {
          return set.validate(o).map((i) => `${i.path || '/'}: ${i.message}`);
        }
      }
      return [`unknown kind ${o.apiVersion} ${o.kind}: no kubernetes-models class, no upstream CRD in gitops/schemas/upstream, no platform CRD`];
    },
  };
}
