/**
 * Every kustomization under gitops/ renders with `kubectl kustomize`, and every rendered object
 * passes upstream schemas with unknown-field checks (gitops/validate-manifests.ts). Then what
 * the platform needs from the overlays: all five services complete (probes, resources, PDB,
 * ServiceAccount, ServiceMonitor), only the gateway reaches the runner, secrets on
 * external-secrets.io/v1 with stores on VAULT_KV_MOUNT, a configuration the production guard
 * accepts for each service, the gateway's replicas declared to it, an Ingress on the specs'
 * public paths only, and the PrometheusRule carrying the tested alert rules.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { bindingSecretPath, vaultReference } from '../src/secrets/secret-store';
import { ConfigError, loadConfig, SERVICE_NAMES, type ServiceName } from '../src/platform/config';
import { projectPath } from '../src/platform/paths';
import { manifestValidator, type K8sObject, type ManifestValidator } from './validate-manifests';

type Obj = K8sObject & { spec?: any; data?: Record<string, string> };

/** Every folder under gitops/ holding a kustomization.yaml (instance directories are tested elsewhere). */
function kustomizations(dir = projectPath('gitops')): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...kustomizations(p));
    else if (name === 'kustomization.yaml') out.push(relative(projectPath(), dir));
  }
  return out.sort();
}

function render(dir: string): Obj[] {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', projectPath(dir)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`kubectl kustomize ${dir} failed (kubectl is required: .ci/run installs it when missing): ${(err as Error).message}`);
  }
  return parseAllDocuments(out).map((d) => d.toJS() as Obj).filter(Boolean);
}

const DIRS = kustomizations();
const rendered = new Map<string, Obj[]>();
let validator: ManifestValidator;
const OVERLAYS = ['gitops/overlays/dev', 'gitops/overlays/prod'];
const one = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o;
};

describe('kustomize', { timeout: 600_000 }, () => {
  before(() => {
    for (const dir of DIRS) rendered.set(dir, render(dir));
    validator = manifestValidator([...rendered.values()].flat());
  });

  test('the kustomizations are the base, the cluster stores, both overlays, the CRDs and the Argo CD side', () => {
    assert.deepEqual(DIRS, ['gitops/argocd', 'gitops/base', 'gitops/cluster', 'gitops/crds', 'gitops/overlays/dev', 'gitops/overlays/prod']);
  });

  test('every rendered object of every kustomization passes its upstream schema, unknown fields refused', (t) => {
    for (const [dir, objs] of rendered) {
      const counts: Record<string, number> = {};
      for (const o of objs) {
        counts[o.kind] = (counts[o.kind] ?? 0) + 1;
        assert.deepEqual(validator.validate(o), [], `${dir}: ${o.kind}/${o.metadata?.name}`);
      }
      t.diagnostic(`${dir}: ${objs.length} objects (${Object.entries(counts).sort().map(([k, n]) => `${k} ${n}`).join(', ')})`);
    }
  });

  test('the validator does refuse: an unknown field, a wrong type, a v1beta1 ExternalSecret', () => {
    const prod = rendered.get('gitops/overlays/prod')!;
    const deployment = structuredClone(one(prod, 'Deployment', 'runner'));
    deployment.spec.template.spec.containers[0].readinessprobe = deployment.spec.template.spec.containers[0].readinessProbe;
    assert.match(validator.validate(deployment).join('\n'), /containers\[0\]\/readinessprobe: unknown field/);
    const service = structuredClone(one(prod, 'Service', 'runner'));
    service.spec.ports[0].port = 'http';
    assert.ok(validator.validate(service).length > 0);
    const es = structuredClone(one(prod, 'ExternalSecret', 'agentstore-platform'));
    assert.match(validator.validate({ ...es, apiVersion: 'external-secrets.io/v1beta1' }).join('\n'), /v1beta1/);
    const sm = structuredClone(one(prod, 'ServiceMonitor', 'gateway'));
    sm.spec.endpoints[0].scrapeEvery = '30s';
    assert.ok(validator.validate(sm).length > 0, 'an unknown ServiceMonitor field');
  });

  for (const overlay of OVERLAYS) {
    describe(overlay, () => {
      const objs = () => rendered.get(overlay)!;
      const config = () => one(objs(), 'ConfigMap', 'agentstore-platform').data!;

      test('all five services: ServiceAccount, Deployment (probes, resources, non-root, read-only root), Service, PDB, ServiceMonitor', () => {
        for (const name of SERVICE_NAMES) {
          for (const kind of ['ServiceAccount', 'Service', 'PodDisruptionBudget', 'ServiceMonitor']) one(objs(), kind, name);
          const d = one(objs(), 'Deployment', name).spec;
          const pod = d.template.spec;
          const c = pod.containers[0];
          assert.deepEqual(c.args, [name], `${name} runs only itself`);
          assert.equal(pod.serviceAccountName, name);
          assert.equal(c.readinessProbe.httpGet.path, '/readyz');
          assert.equal(c.livenessProbe.httpGet.path, '/healthz');
          assert.ok(c.startupProbe, `${name}: startup probe`);
          assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, `${name}: resources`);
          assert.equal(pod.securityContext.runAsNonRoot, true);
          assert.equal(c.securityContext.readOnlyRootFilesystem, true);
          assert.match(c.image, /^ghcr\.io\/agentstore\/platform:/);
        }
      });

      test('only the gateway (and Prometheus) reach the runner; everything else is denied by default', () => {
        const policies = objs().filter((o) => o.kind === 'NetworkPolicy');
        assert.ok(policies.some((p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.policyTypes.includes('Ingress') && !p.spec.ingress), 'a default deny');
        const runnerLabels = one(objs(), 'Deployment', 'runner').spec.template.metadata.labels as Record<string, string>;
        const selects = (sel: any, labels: Record<string, string>) =>
          Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v)
          && (sel.matchExpressions ?? []).every((e: any) => e.operator === 'In' && e.values.includes(labels[e.key]));
        const peers = policies.filter((p) => selects(p.spec.podSelector, runnerLabels)).flatMap((p) => p.spec.ingress ?? []);
        for (const rule of peers) assert.ok(rule.from?.length, 'no rule admits every source');
        const pods = peers.flatMap((r: any) => r.from.filter((f: any) => f.podSelector).map((f: any) => f.podSelector.matchLabels));
        const namespaces = peers.flatMap((r: any) => r.from.filter((f: any) => f.namespaceSelector).map((f: any) => f.namespaceSelector.matchLabels));
        assert.deepEqual(pods, [{ 'app.kubernetes.io/name': 'gateway' }]);
        assert.deepEqual(namespaces, [{ 'kubernetes.io/metadata.name': 'monitoring' }]);
      });

      test('secrets: ExternalSecrets on external-secrets.io/v1, stores on Vault KV v2 at VAULT_KV_MOUNT, resolving to the platform\'s own paths', () => {
        assert.ok(!objs().some((o) => o.apiVersion.startsWith('external-secrets.io/') && o.apiVersion !== 'external-secrets.io/v1'));
        const mount = config().VAULT_KV_MOUNT!;
        const stores = objs().filter((o) => o.kind === 'ClusterSecretStore');
        assert.deepEqual(stores.map((s) => s.metadata!.name).sort(), ['vault-connectors', 'vault-platform']);
        for (const s of stores) {
          assert.equal(s.spec.provider.vault.path, mount, `${s.metadata!.name}: path = VAULT_KV_MOUNT`);
          assert.equal(s.spec.provider.vault.version, 'v2');
          assert.equal(s.spec.provider.vault.server, config().VAULT_ADDR);
        }
        // What ESO reads for an instance's ExternalSecret key (providers/v1/vault/client_get.go buildPath)
        // is exactly where the platform stored the credential.
        const esoPath = (storePath: string, key: string) => {
          let out = key.startsWith(`${storePath}/`) ? key.slice(storePath.length + 1) : key;
          if (key.startsWith(`${storePath}/`) && out.startsWith('data/')) out = out.slice('data/'.length);
          return [storePath, 'data', out].join('/');
        };
        const written = vaultReference(mount, bindingSecretPath('org_A', 'prj_B', 'bind_C'));
        assert.equal(esoPath(mount, written), written);
        const platform = one(objs(), 'ExternalSecret', 'agentstore-platform');
        assert.equal(platform.spec.secretStoreRef.name, 'vault-platform');
      });

      test('the ConfigMap and the ExternalSecret\'s keys form a configuration the production guard accepts, for every service', () => {
        const secrets = one(objs(), 'ExternalSecret', 'agentstore-platform').spec.data.map((d: any) => d.secretKey as string);
        const placeholder: Record<string, string> = {
          DATABASE_URL: 'postgres://u@db/agentstore', REDIS_URL: 'redis://redis:6379', WIDGET_SESSION_SECRET: 'w'.repeat(32), ARGOCD_WEBHOOK_TOKEN: 't'.repeat(32),
        };
        for (const d of objs().filter((o) => o.kind === 'Deployment')) {
          const container = d.spec.template.spec.containers[0];
          const env: Record<string, string> = { ...config() };
          for (const key of secrets) env[key] = placeholder[key] ?? `secret-${key.toLowerCase()}`;
          for (const e of container.env ?? []) env[e.name] = e.value;
          try {
            loadConfig(env, { services: container.args as ServiceName[] });
          } catch (err) {
            assert.fail(`${d.metadata!.name}: ${err instanceof ConfigError ? err.message : err}`);
          }
        }
      });

      test('the gateway\'s replicas are declared to the services (GATEWAY_REPLICAS), and more than one has Redis', () => {
        const replicas = one(objs(), 'Deployment', 'gateway').spec.replicas as number;
        assert.equal(config().GATEWAY_REPLICAS, String(replicas));
        if (replicas > 1) assert.ok(one(objs(), 'ExternalSecret', 'agentstore-platform').spec.data.some((d: any) => d.secretKey === 'REDIS_URL'));
      });

      test('the Ingress routes the public API paths of the specs and nothing else (no /metrics, no in-cluster operations)', () => {
        const ingress = one(objs(), 'Ingress', 'agentstore');
        const routed = new Map<string, string[]>();
        for (const rule of ingress.spec.rules) for (const p of rule.http.paths) routed.set(p.backend.service.name, [...(routed.get(p.backend.service.name) ?? []), p.path]);
        const IN_CLUSTER: Record<string, string[]> = { 'control-plane': ['/billing', '/integrations'], provisioner: ['/dead-letters', '/inbox'], gateway: [] };
        // Public routes outside the specs: the widget script and the hosted chat page (src/gateway/web-pages.ts).
        const OUTSIDE_SPEC: Record<string, string[]> = { gateway: ['/chat', '/widget', '/widget.js'] };
        for (const [service, spec] of [['control-plane', 'control-plane'], ['gateway', 'gateway'], ['provisioner', 'provisioner']] as const) {
          const doc = parse(readFileSync(projectPath('specs', `${spec}.openapi.yaml`), 'utf8')) as { paths: Record<string, unknown> };
          const prefixes = [...new Set(Object.keys(doc.paths).map((p) => `/${p.split('/')[1]}`))].filter((p) => !IN_CLUSTER[service]!.includes(p)).concat(OUTSIDE_SPEC[service] ?? []).sort();
          assert.deepEqual([...(routed.get(service) ?? [])].sort(), prefixes, service);
        }
        assert.deepEqual([...routed.keys()].sort(), ['control-plane', 'gateway', 'provisioner'], 'the runner and the connector gateway are never public');
      });

      test('the PrometheusRule carries exactly the alert rules promtool tests', () => {
        const rule = one(objs(), 'PrometheusRule', 'agentstore');
        const groups = (parse(readFileSync(projectPath('ops', 'prometheus', 'agent-store.rules.yaml'), 'utf8')) as { groups: unknown[] }).groups;
        assert.deepEqual(rule.spec.groups, groups);
      });
    });
  }

  test('prod scales out and terminates TLS; dev runs one of each', () => {
    const count = (dir: string, name: string) => one(rendered.get(dir)!, 'Deployment', name).spec.replicas as number;
    for (const name of SERVICE_NAMES) {
      assert.equal(count('gitops/overlays/dev', name), 1, name);
      assert.ok(count('gitops/overlays/prod', name) >= 2, name);
    }
    assert.ok(one(rendered.get('gitops/overlays/prod')!, 'Ingress', 'agentstore').spec.tls?.length);
  });

  test('Argo CD deploys the prod overlay', () => {
    const app = one(rendered.get('gitops/argocd')!, 'Application', 'agentstore-platform');
    assert.equal(app.spec.source.path, 'overlays/prod');
  });
});
