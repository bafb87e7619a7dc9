/**
 * Shared building blocks of capability desired state: API versions per kind, names derived from the
 * instance id, the labels every manifest carries, ConfigMaps, and ExternalSecret references to
 * connector credentials in Vault (references only — a manifest never holds a secret value).
 */
import { createHash } from 'node:crypto';
import type { DesiredStateContext, Manifest } from './handler-types';
import type { ProvisionedKind } from './registry';

export const PLATFORM_GROUP = 'platform.agentstore.dev';
export const PLATFORM_API_VERSION = `${PLATFORM_GROUP}/v1alpha1`;

export const API_VERSION: Record<ProvisionedKind, string> = {
  ConfigMap: 'v1',
  ExternalSecret: 'external-secrets.io/v1',
  GatewayRoute: PLATFORM_API_VERSION,
  GatewayPolicy: PLATFORM_API_VERSION,
  ConnectorPolicy: PLATFORM_API_VERSION,
  KnowledgeBaseBinding: PLATFORM_API_VERSION,
  ScheduledRun: PLATFORM_API_VERSION,
  AuditSink: PLATFORM_API_VERSION,
  ObservabilityProfile: PLATFORM_API_VERSION,
  WidgetConfig: PLATFORM_API_VERSION,
  HandoverPolicy: PLATFORM_API_VERSION,
  GuardrailPolicy: PLATFORM_API_VERSION,
};

export const LABEL = {
  instance: `${PLATFORM_GROUP}/instance`,
  org: `${PLATFORM_GROUP}/org`,
  project: `${PLATFORM_GROUP}/project`,
  offering: `${PLATFORM_GROUP}/offering`,
  plan: `${PLATFORM_GROUP}/plan`,
  capability: `${PLATFORM_GROUP}/capability`,
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
} as const;

export const ANNOTATION = {
  offeringVersion: `${PLATFORM_GROUP}/offering-version`,
  environment: `${PLATFORM_GROUP}/env`,
  /** Set on a ConnectorPolicy that turns SSRF protection off, for review in the GitOps diff. */
  privateNetworks: `${PLATFORM_GROUP}/private-networks`,
  vaultPath: `${PLATFORM_GROUP}/vault-path`,
} as const;

/**
 * Where External Secrets reads connector credentials from: a ClusterSecretStore on Vault KV v2
 * whose `path` is the platform's `VAULT_KV_MOUNT` (gitops/base/secret-stores.yaml).
 */
export const CONNECTOR_SECRET_STORE = { name: 'vault-connectors', kind: 'ClusterSecretStore' } as const;

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

function labelValue(what: string, value: string): string {
  if (!LABEL_VALUE.test(value)) throw new Error(`${what} ${JSON.stringify(value)} cannot be a Kubernetes label value`);
  return value;
}

/** snake_case / any id → a DNS-1123 fragment (`web_widget` → `web-widget`). */
export function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * A DNS-1123 object name from the instance id and parts: `inst_01J9…` + `api_endpoint` →
 * `inst-01j9…-api-endpoint`. Ids are upper-case Crockford base32, so lower-casing keeps them unique;
 * an id that has lower-case letters gets a short hash appended so two ids never share a name.
 */
export function resourceName(instanceId: string, ...parts: string[]): string {
  let base = slug(instanceId);
  if (/[a-z]/.test(instanceId.replace(/^[a-z]+_/, ''))) base += '-' + createHash('sha256').update(instanceId).digest('hex').slice(0, 8);
  const name = [base, ...parts.map(slug)].filter(Boolean).join('-');
  if (name.length > 253) throw new Error(`object name ${name} is longer than 253 characters`);
  return name;
}

/** Labels every manifest of an instance carries. */
export function instanceLabels(ctx: DesiredStateContext<unknown>, capabilityId: string): Record<string, string> {
  return {
    [LABEL.instance]: labelValue('instance id', ctx.instanceId),
    [LABEL.org]: labelValue('org id', ctx.orgId),
    [LABEL.project]: labelValue('project id', ctx.projectId),
    [LABEL.offering]: labelValue('offering id', ctx.offeringId),
    [LABEL.plan]: labelValue('plan', ctx.planId),
    [LABEL.capability]: labelValue('capability', capabilityId),
    [LABEL.managedBy]: 'agent-store-control-plane',
    [LABEL.partOf]: 'agent-store',
  };
}

export interface ObjectOptions {
  /** Name parts after the instance id; default: the capability id. */
  name?: string[];
  annotations?: Record<string, string>;
}

/** One manifest of `kind` for the instance, with its name, namespace, labels and annotations. */
export function instanceObject(
  ctx: DesiredStateContext<unknown>,
  capabilityId: string,
  kind: ProvisionedKind,
  body: { spec?: Record<string, unknown>; data?: Record<string, string> },
  opts: ObjectOptions = {},
): Manifest {
  return {
    apiVersion: API_VERSION[kind],
    kind,
    metadata: {
      name: resourceName(ctx.instanceId, ...(opts.name ?? [capabilityId])),
      namespace: ctx.namespace,
      labels: instanceLabels(ctx, capabilityId),
      annotations: {
        [ANNOTATION.offeringVersion]: ctx.versionId,
        [ANNOTATION.environment]: ctx.env,
        ...opts.annotations,
      },
    },
    ...body,
  };
}

/** JSON with object keys sorted at every level, so committed files diff cleanly. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2) + '\n';
}

/** A ConfigMap holding a capability's runtime settings as `config.json`. */
export function configMap(ctx: DesiredStateContext<unknown>, capabilityId: string, settings: Record<string, unknown>): Manifest {
  return instanceObject(ctx, capabilityId, 'ConfigMap', { data: { 'config.json': stableJson(settings) } });
}

/** The default KV v2 mount (`VAULT_KV_MOUNT`). */
export const DEFAULT_VAULT_KV_MOUNT = 'kv';

/** The Vault KV v2 path of a connector binding's credential: `<mount>/data/connectors/<org>/<project>/<binding>`. */
export function connectorVaultPath(orgId: string, projectId: string, bindingId: string, mount: string = DEFAULT_VAULT_KV_MOUNT): string {
  return `${mount}/data/connectors/${orgId}/${projectId}/${bindingId}`;
}

/**
 * An ExternalSecret that materialises a connector binding's credential from Vault into a Secret of
 * the instance's namespace. The path is always derived from the instance's own org and project
 * under the configured KV mount, so a binding of another tenant can never be referenced; a binding
 * whose recorded `vaultPath` says otherwise (another tenant, or another mount) is refused.
 */
export function connectorSecret(
  ctx: DesiredStateContext<unknown>,
  capabilityId: string,
  bindingId: string,
): { manifest: Manifest; secretName: string } {
  if (!/^bind_[A-Za-z0-9]{8,40}$/.test(bindingId)) throw new Error(`not a binding id: ${JSON.stringify(bindingId)}`);
  const path = connectorVaultPath(ctx.orgId, ctx.projectId, bindingId, ctx.vaultMount);
  const known = ctx.bindings.find((b) => b.bindingId === bindingId);
  if (known && known.vaultPath !== path) {
    throw new Error(known.vaultPath.endsWith(path.slice(path.indexOf('/data/')))
      ? `binding ${bindingId} is stored under another Vault mount than VAULT_KV_MOUNT=${ctx.vaultMount}`
      : `binding ${bindingId} is not a binding of project ${ctx.projectId}`);
  }
  const secretName = resourceName(ctx.instanceId, capabilityId, bindingId);
  const manifest = instanceObject(
    ctx,
    capabilityId,
    'ExternalSecret',
    {
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { ...CONNECTOR_SECRET_STORE },
        target: { name: secretName, creationPolicy: 'Owner', deletionPolicy: 'Delete' },
        dataFrom: [{ extract: { key: path } }],
      },
    },
    { name: [capabilityId, bindingId], annotations: { [ANNOTATION.vaultPath]: path } },
  );
  return { manifest, secretName };
}
