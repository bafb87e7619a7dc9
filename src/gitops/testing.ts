/** Helpers for the gitops tests: temporary repositories and realistic manifests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '../capabilities/handler-types';
import { git } from './git';
import { LABELS, tenantNamespace, type InstanceRef } from './naming';

export function tempDir(prefix = 'gitops-test-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs git in `cwd` (tests' view of a repository: log, show, config). */
export async function gitOut(cwd: string, ...args: string[]): Promise<string> {
  return (await git(args, { cwd, env: { GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid' } })).stdout;
}

let seq = 0;
/** A fresh instance reference with platform-shaped ids. */
export function newRef(env = 'dev'): InstanceRef {
  seq++;
  const n = `${Date.now().toString(36).toUpperCase()}${seq}`.padEnd(26, '0').slice(0, 26).replace(/[ILOU]/g, '0');
  return { env, orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X', projectId: 'prj_01J9ZK4B2C3D4E5F6G7H8J9K0M', instanceId: `inst_${n}` };
}

const slug = (id: string) => id.toLowerCase().replace(/_/g, '-');

function meta(ref: InstanceRef, suffix: string) {
  return {
    name: `${slug(ref.instanceId)}-${suffix}`,
    namespace: tenantNamespace(ref.orgId),
    labels: { [LABELS.instance]: ref.instanceId, [LABELS.org]: ref.orgId, [LABELS.project]: ref.projectId },
  };
}

export function gatewayRoute(ref: InstanceRef, path = '/v1/runs'): Manifest {
  return {
    apiVersion: 'platform.agentstore.dev/v1alpha1',
    kind: 'GatewayRoute',
    metadata: meta(ref, 'api-endpoint'),
    spec: {
      instanceId: ref.instanceId,
      surface: 'api',
      path,
      methods: ['POST'],
      auth: { oidc: true, apiKeys: true },
      upstream: { service: 'runner', timeoutMs: 60000 },
      maxInputChars: 8000,
    },
  };
}

export function configMap(ref: InstanceRef, name: string, data: Record<string, string>): Manifest {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(ref, name), data };
}

export function externalSecret(ref: InstanceRef, bindingId: string, vaultOrg = ref.orgId, vaultProject = ref.projectId): Manifest {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: meta(ref, `tool-connectors-${slug(bindingId)}`),
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { name: 'vault-connectors', kind: 'ClusterSecretStore' },
      target: { name: `${slug(ref.instanceId)}-${slug(bindingId)}`, creationPolicy: 'Owner', deletionPolicy: 'Delete' },
      dataFrom: [{ extract: { key: `kv/data/connectors/${vaultOrg}/${vaultProject}/${bindingId}` } }],
    },
  };
}
