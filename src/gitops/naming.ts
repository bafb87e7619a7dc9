import { AppError } from '../platform/errors';
import type { Manifest } from '../capabilities/handler-types';

/**
 * Names shared by the desired-state writer, the built-in reconciler, the Argo CD
 * ApplicationSet (gitops/argocd/applicationset.yaml, which computes the same names with Sprig
 * functions) and the notification handler. Change one, change all four.
 */

/**
 * Labels every resource of an instance carries (set again by the instance's kustomization).
 * The same keys and values as the capability handlers' `LABEL` (src/capabilities/manifest.ts);
 * a test pins them together.
 */
export const LABELS = {
  instance: 'platform.agentstore.dev/instance',
  org: 'platform.agentstore.dev/org',
  project: 'platform.agentstore.dev/project',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

export const MANAGED_BY = 'agent-store-control-plane';

/**
 * A path segment: an id such as `inst_01J9ZK5D6E7F8G9H0J1K2M3N4P` or an env such as `dev`.
 * Only `[A-Za-z0-9_-]`, starting and ending with a letter or digit, at most 63 characters —
 * so it is also a valid Kubernetes label value, and `.`/`..`/`/` can never reach a path.
 */
const SEGMENT = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;

export function assertSegment(what: string, value: unknown): string {
  if (typeof value !== 'string' || !SEGMENT.test(value)) {
    throw new AppError('UNPROCESSABLE', `${what} is not a valid desired-state path segment (letters, digits, '_' and '-', 1–63 characters)`, {
      field: what,
    });
  }
  return value;
}

export interface InstanceRef {
  env: string;
  orgId: string;
  projectId: string;
  instanceId: string;
}

/** `clusters/<env>/instances/<orgId>/<projectId>/<instanceId>` (validated; no trailing slash). */
export function instanceDir(ref: InstanceRef): string {
  return [
    'clusters',
    assertSegment('env', ref.env),
    'instances',
    assertSegment('orgId', ref.orgId),
    assertSegment('projectId', ref.projectId),
    assertSegment('instanceId', ref.instanceId),
  ].join('/');
}

/** Parses a repository path under an instance directory; undefined when it is not one. */
export function parseInstancePath(path: string): (InstanceRef & { dir: string; rest: string }) | undefined {
  const parts = path.split('/');
  if (parts.length < 6 || parts[0] !== 'clusters' || parts[2] !== 'instances') return undefined;
  const [, env, , orgId, projectId, instanceId] = parts;
  if (![env, orgId, projectId, instanceId].every((s) => SEGMENT.test(s))) return undefined;
  return { env, orgId, projectId, instanceId, dir: parts.slice(0, 6).join('/'), rest: parts.slice(6).join('/') };
}

/** A DNS-1123 label from an id: lower case, `_` → `-`. */
function dnsLabel(id: string): string {
  return id.toLowerCase().replace(/_/g, '-');
}

/**
 * The namespace an org's instances live in: one per org (`as-org-01j9zk…`), so Kubernetes RBAC,
 * NetworkPolicies, quotas and the Vault role ExternalSecrets use are per tenant.
 * ApplicationSet: `as-{{ index .path.segments 3 | lower | replace "_" "-" }}`.
 */
export function tenantNamespace(orgId: string): string {
  return `as-${dnsLabel(assertSegment('orgId', orgId))}`;
}

/**
 * The Argo CD Application name of an instance: `inst_01J9ZK…` → `inst-01j9zk…` (Application names
 * must be DNS-1123). ApplicationSet: `inst-{{ .path.basename | trimPrefix "inst_" | lower | replace "_" "-" }}`.
 */
export function appNameFor(instanceId: string): string {
  assertSegment('instanceId', instanceId);
  return `inst-${dnsLabel(instanceId.startsWith('inst_') ? instanceId.slice(5) : instanceId)}`;
}

/** Crockford base32 (lower case) as produced by src/platform/ids.ts, 26 characters. */
const APP_NAME = /^inst-([0-9abcdefghjkmnpqrstvwxyz]{26})$/;

/**
 * The instance id behind an Application name made by {@link appNameFor} from a platform id
 * (`inst-01j9zk…` → `inst_01J9ZK…`); undefined for any other name.
 */
export function instanceIdFromAppName(app: string): string | undefined {
  const m = APP_NAME.exec(app);
  return m ? `inst_${m[1].toUpperCase()}` : undefined;
}

function fileSlug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'x';
}

export const KUSTOMIZATION_FILE = 'kustomization.yaml';

/** The binding an ExternalSecret reads: the last segment of its Vault key (`kv/data/connectors/<org>/<project>/<binding>`). */
function externalSecretBinding(m: Manifest): string | undefined {
  const spec = (m.spec ?? {}) as { data?: { remoteRef?: { key?: unknown } }[]; dataFrom?: { extract?: { key?: unknown } }[] };
  const key = spec.dataFrom?.[0]?.extract?.key ?? spec.data?.[0]?.remoteRef?.key;
  return typeof key === 'string' && key.includes('/') ? key.slice(key.lastIndexOf('/') + 1) || undefined : undefined;
}

/**
 * One file name per manifest, in manifest order: the kind in lower case (`gatewayroute.yaml`);
 * ExternalSecrets by binding (`externalsecret-<binding>.yaml`, the binding from the Vault key,
 * else the manifest name); a kind that occurs more than once gets the manifest name as suffix,
 * and any remaining clash a number. Stable for the same input, so unchanged manifests give
 * unchanged files.
 */
export function manifestFileNames(manifests: Manifest[]): string[] {
  const kindCount = new Map<string, number>();
  for (const m of manifests) kindCount.set(m.kind.toLowerCase(), (kindCount.get(m.kind.toLowerCase()) ?? 0) + 1);
  const used = new Set<string>([KUSTOMIZATION_FILE]);
  return manifests.map((m) => {
    const kind = fileSlug(m.kind);
    let base: string;
    if (kind === 'externalsecret') base = `${kind}-${fileSlug(externalSecretBinding(m) ?? m.metadata.name)}`;
    else if ((kindCount.get(m.kind.toLowerCase()) ?? 0) > 1) base = `${kind}-${fileSlug(m.metadata.name)}`;
    else base = kind;
    let name = `${base}.yaml`;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}.yaml`;
    used.add(name);
    return name;
  });
}
