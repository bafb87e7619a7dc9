import { parseAllDocuments, parseDocument } from 'yaml';
import type { ConfigIssue, Manifest } from '../capabilities/handler-types';
import { KUSTOMIZATION_FILE, LABELS, MANAGED_BY, tenantNamespace, type InstanceRef } from './naming';
import { scanForSecrets } from './secret-scan';

export const KUSTOMIZE_API_VERSION = 'kustomize.config.k8s.io/v1beta1';

/** The instance's kustomization: exactly its files, its tenant namespace, its identity labels. */
export function buildKustomization(ref: InstanceRef, files: string[]): Record<string, unknown> {
  return {
    apiVersion: KUSTOMIZE_API_VERSION,
    kind: 'Kustomization',
    namespace: tenantNamespace(ref.orgId),
    labels: [
      {
        pairs: {
          [LABELS.instance]: ref.instanceId,
          [LABELS.org]: ref.orgId,
          [LABELS.project]: ref.projectId,
          [LABELS.managedBy]: MANAGED_BY,
        },
        includeSelectors: false,
      },
    ],
    resources: files,
  };
}

/** Kustomization fields an instance directory may use. Anything else could reach outside it (bases, components, generators with files, helm charts). */
const ALLOWED_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'labels', 'commonLabels', 'commonAnnotations']);
const PLAIN_YAML_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml$/;

export type ManifestValidator = (manifest: Manifest) => ConfigIssue[];

export interface DirectoryVerdict {
  ok: boolean;
  /** Each names the file and the problem, e.g. `gatewayroute.yaml: spec.host: is required`. */
  problems: string[];
  /** Number of manifests checked. */
  resources: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What the built-in reconciler checks in one instance directory (file name → content; names
 * relative to the directory): the kustomization is well-formed, lists exactly the YAML files
 * present (each existing, none outside the directory), sets the tenant namespace and identity
 * labels matching the path; every manifest parses, passes `validate`, does not contradict the
 * namespace or labels, and carries no secret material.
 */
export function verifyInstanceDirectory(ref: InstanceRef, files: Map<string, string | undefined>, validate: ManifestValidator): DirectoryVerdict {
  const problems: string[] = [];
  let resources = 0;
  const expectedNs = tenantNamespace(ref.orgId);
  const expectedLabels: Record<string, string> = { [LABELS.instance]: ref.instanceId, [LABELS.org]: ref.orgId, [LABELS.project]: ref.projectId };

  for (const name of files.keys()) if (name.includes('/')) problems.push(`${name}: subdirectories are not allowed in an instance directory`);

  const kText = files.get(KUSTOMIZATION_FILE);
  if (kText === undefined) return { ok: false, problems: [...problems, `${KUSTOMIZATION_FILE}: missing`], resources };
  const kDoc = parseDocument(kText);
  if (kDoc.errors.length) return { ok: false, problems: [...problems, `${KUSTOMIZATION_FILE}: ${kDoc.errors[0].message}`], resources };
  const k = kDoc.toJS() as unknown;
  if (!isRecord(k)) return { ok: false, problems: [...problems, `${KUSTOMIZATION_FILE}: not a mapping`], resources };

  if (k.apiVersion !== KUSTOMIZE_API_VERSION || k.kind !== 'Kustomization') {
    problems.push(`${KUSTOMIZATION_FILE}: must be apiVersion ${KUSTOMIZE_API_VERSION}, kind Kustomization`);
  }
  for (const field of Object.keys(k)) if (!ALLOWED_FIELDS.has(field)) problems.push(`${KUSTOMIZATION_FILE}: field '${field}' is not allowed in an instance directory`);
  if (k.namespace !== expectedNs) problems.push(`${KUSTOMIZATION_FILE}: namespace is ${JSON.stringify(k.namespace ?? null)}, expected ${expectedNs}`);

  const labels: Record<string, unknown> = {};
  if (Array.isArray(k.labels)) for (const l of k.labels) if (isRecord(l) && isRecord(l.pairs)) Object.assign(labels, l.pairs);
  if (isRecord(k.commonLabels)) Object.assign(labels, k.commonLabels);
  for (const [key, want] of Object.entries(expectedLabels)) {
    if (labels[key] !== want) problems.push(`${KUSTOMIZATION_FILE}: label ${key} is ${JSON.stringify(labels[key] ?? null)}, expected ${want}`);
  }

  const listed: string[] = [];
  if (!Array.isArray(k.resources)) problems.push(`${KUSTOMIZATION_FILE}: resources must be a list of file names`);
  else {
    for (const r of k.resources) {
      if (typeof r !== 'string' || !PLAIN_YAML_FILE.test(r) || r === KUSTOMIZATION_FILE) {
        problems.push(`${KUSTOMIZATION_FILE}: resource ${JSON.stringify(r)} must be a YAML file in this directory`);
      } else if (listed.includes(r)) problems.push(`${KUSTOMIZATION_FILE}: resource ${r} is listed twice`);
      else if (!files.has(r)) problems.push(`${KUSTOMIZATION_FILE}: lists ${r}, which does not exist`);
      else listed.push(r);
    }
  }
  for (const name of files.keys()) {
    if (name === KUSTOMIZATION_FILE || name.includes('/') || listed.includes(name)) continue;
    problems.push(/\.ya?ml$/.test(name) ? `${name}: not listed in ${KUSTOMIZATION_FILE}` : `${name}: unexpected file in an instance directory`);
  }

  for (const file of listed) {
    const docs = parseAllDocuments(files.get(file) ?? '');
    const manifests: Manifest[] = [];
    for (const doc of docs) {
      if (doc.errors.length) {
        problems.push(`${file}: ${doc.errors[0].message.split('\n')[0]}`);
        continue;
      }
      const m = doc.toJS() as unknown;
      if (m === null || m === undefined) continue;
      if (!isRecord(m) || typeof m.apiVersion !== 'string' || typeof m.kind !== 'string' || !isRecord(m.metadata) || typeof m.metadata.name !== 'string') {
        problems.push(`${file}: not a Kubernetes object (apiVersion, kind and metadata.name are required)`);
        continue;
      }
      manifests.push(m as Manifest);
    }
    if (!manifests.length && !problems.some((p) => p.startsWith(`${file}:`))) problems.push(`${file}: contains no manifest`);
    for (const m of manifests) {
      resources++;
      const at = manifests.length > 1 ? `${file} (${m.kind}/${m.metadata.name})` : file;
      if (m.metadata.namespace !== undefined && m.metadata.namespace !== expectedNs) {
        problems.push(`${at}: metadata.namespace is ${JSON.stringify(m.metadata.namespace)}, expected ${expectedNs} (or none)`);
      }
      for (const [key, want] of Object.entries(expectedLabels)) {
        const have = m.metadata.labels?.[key];
        if (have !== undefined && have !== want) problems.push(`${at}: label ${key} is ${JSON.stringify(have)}, expected ${want}`);
      }
      for (const f of scanForSecrets([m], { orgId: ref.orgId, projectId: ref.projectId })) problems.push(`${at}: ${f.path}: ${f.reason}`);
      let issues: ConfigIssue[];
      try {
        issues = validate(m);
      } catch (err) {
        issues = [{ path: '', message: `validator failed: ${err instanceof Error ? err.message : String(err)}` }];
      }
      for (const i of issues) problems.push(`${at}: ${i.path ? `${i.path}: ` : ''}${i.message}`);
    }
  }
  return { ok: problems.length === 0, problems, resources };
}
