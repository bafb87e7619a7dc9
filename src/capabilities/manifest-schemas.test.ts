import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { API_VERSION, PLATFORM_API_VERSION } from './manifest';
import { DEFAULT_CRD_DIR, manifestSchemas, validateManifest } from './manifest-schemas';
import { REGISTRY_SCHEMA_FILE } from './registry';

const meta = { name: 'inst-01j9zk5d6e7f8g9h0j1k2m3n4p-x', namespace: 'agentstore-instances', labels: { 'platform.agentstore.dev/instance': 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P' } };
const route = () => ({
  apiVersion: PLATFORM_API_VERSION,
  kind: 'GatewayRoute',
  metadata: structuredClone(meta),
  spec: {
    instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P',
    surface: 'api',
    path: '/v1/runs',
    methods: ['POST'],
    auth: { oidc: true, apiKeys: true },
    upstream: { service: 'runner', timeoutMs: 60000 },
    maxInputChars: 8000,
  } as Record<string, any>,
});
const paths = (m: unknown) => validateManifest(m).map((i) => i.path);

test('every kind the registry can provision has a schema, under the API version handlers use', () => {
  const registryKinds: string[] = JSON.parse(readFileSync(REGISTRY_SCHEMA_FILE, 'utf8')).definitions.kubernetesKind.enum;
  const known = manifestSchemas().kinds();
  for (const kind of registryKinds) {
    assert.ok(
      known.some((k) => k.kind === kind && k.apiVersion === API_VERSION[kind as keyof typeof API_VERSION]),
      `${kind} has no schema for ${API_VERSION[kind as keyof typeof API_VERSION]}`,
    );
  }
  assert.equal(known.length, registryKinds.length);
});

test('the CRDs are structural apiextensions.k8s.io/v1 CRDs the API server would accept, all listed in kustomization.yaml', () => {
  const files = readdirSync(DEFAULT_CRD_DIR).filter((f) => f.endsWith('.platform.agentstore.dev.yaml'));
  assert.equal(files.length, 10);
  const kustomization = parse(readFileSync(join(DEFAULT_CRD_DIR, 'kustomization.yaml'), 'utf8'));
  assert.deepEqual([...kustomization.resources].sort(), [...files].sort());
  const walk = (node: any, at: string, inJunctor: boolean) => {
    if (!node || typeof node !== 'object') return;
    if (node.properties && node.additionalProperties !== undefined) assert.fail(`${at}: properties and additionalProperties are mutually exclusive`);
    if (node.additionalProperties === false) assert.fail(`${at}: additionalProperties: false is not structural`);
    if (!inJunctor && (node.properties || node.items) && !node.type) assert.fail(`${at}: every node needs a type`);
    if (inJunctor && (node.type || node.description || node.default !== undefined)) assert.fail(`${at}: junctors may only hold value validations`);
    for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${at}.${k}`, inJunctor);
    if (node.items) walk(node.items, `${at}[]`, inJunctor);
    for (const j of ['oneOf', 'anyOf', 'allOf']) for (const [i, v] of (node[j] ?? []).entries()) walk(v, `${at}.${j}[${i}]`, true);
    if (node.not) walk(node.not, `${at}.not`, true);
  };
  for (const file of files) {
    const crd = parse(readFileSync(join(DEFAULT_CRD_DIR, file), 'utf8'));
    assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1', file);
    assert.equal(crd.spec.group, 'platform.agentstore.dev', file);
    assert.equal(crd.metadata.name, `${crd.spec.names.plural}.${crd.spec.group}`, file);
    assert.equal(file, `${crd.metadata.name}.yaml`);
    assert.equal(crd.spec.scope, 'Namespaced', file);
    assert.deepEqual(
      crd.spec.versions.map((v: any) => [v.name, v.served, v.storage]),
      [['v1alpha1', true, true]],
      file,
    );
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    assert.equal(schema.type, 'object', file);
    assert.deepEqual(schema.properties.metadata, { type: 'object' }, `${file}: metadata may not be constrained beyond name`);
    assert.ok(schema.required.includes('spec'), file);
    assert.ok(schema.properties.spec.required.includes('instanceId'), `${file}: spec.instanceId is required`);
    walk(schema, file, false);
  }
});

test('a valid manifest passes', () => {
  assert.deepEqual(validateManifest(route()), []);
});

test('an unknown field is rejected, as strict field validation does', () => {
  const m = route();
  m.spec.extra = 1;
  (m.spec.auth as any).sso = true;
  assert.deepEqual(paths(m).sort(), ['/spec/auth/sso', '/spec/extra']);
});

test('missing required fields and out-of-range values are reported with JSON pointers', () => {
  const m = route();
  delete m.spec.upstream;
  m.spec.surface = 'ftp';
  m.spec.maxInputChars = 0;
  assert.deepEqual(paths(m).sort(), ['/spec/maxInputChars', '/spec/surface', '/spec/upstream']);
});

test('an unknown kind is an error, never a pass', () => {
  const issues = validateManifest({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' }, data: { token: 'c2VjcmV0' } });
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.path, '/kind');
  assert.match(issues[0]!.message, /unknown kind/);
  assert.equal(validateManifest({ kind: 'GatewayRoute' })[0]!.path, '/apiVersion');
  assert.equal(validateManifest('not an object')[0]!.path, '');
});

test('a known kind under the wrong apiVersion names the served one', () => {
  const m = { ...route(), apiVersion: 'platform.agentstore.dev/v1' };
  assert.match(validateManifest(m)[0]!.message, /served as platform\.agentstore\.dev\/v1alpha1/);
});

test('metadata must be a valid ObjectMeta of a committed object', () => {
  const m = route() as any;
  m.metadata.name = 'Inst_01';
  m.metadata.namespace = 'a.b';
  m.metadata.labels['platform.agentstore.dev/instance'] = 'x'.repeat(64);
  m.metadata.labels['bad key!'] = 'v';
  m.metadata.uid = '123';
  assert.deepEqual([...new Set(paths(m))].sort(), [
    '/metadata/labels/bad key!',
    '/metadata/labels/platform.agentstore.dev~1instance',
    '/metadata/name',
    '/metadata/namespace',
    '/metadata/uid',
  ]);
});

test('status is never part of desired state', () => {
  assert.deepEqual(paths({ ...route(), status: { conditions: [] } }), ['/status']);
});

test('set-typed and map-typed lists must not repeat entries', () => {
  const m = route();
  m.spec.methods = ['POST', 'POST'];
  assert.deepEqual(paths(m), ['/spec/methods']);
  const policy = {
    apiVersion: PLATFORM_API_VERSION,
    kind: 'ConnectorPolicy',
    metadata: meta,
    spec: {
      instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P',
      source: 'tool_connectors',
      allowPrivateNetworks: false,
      timeoutMs: 15000,
      maxCallsPerRun: 10,
      retries: { read: 3, write: 0 },
      tools: [
        { name: 'http.get', kind: 'read', connector: 'generic_http' },
        { name: 'http.get', kind: 'write', connector: 'generic_http' },
      ],
    },
  };
  assert.deepEqual(paths(policy), ['/spec/tools']);
});

test('a ConnectorPolicy cannot retry write tools', () => {
  const policy = {
    apiVersion: PLATFORM_API_VERSION,
    kind: 'ConnectorPolicy',
    metadata: meta,
    spec: { instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P', source: 'tool_connectors', allowPrivateNetworks: false, timeoutMs: 15000, maxCallsPerRun: 10, retries: { read: 3, write: 1 } },
  };
  assert.deepEqual(paths(policy), ['/spec/retries/write']);
});

test('a cron ScheduledRun needs a schedule and a webhook one must not have one', () => {
  const run = (spec: Record<string, unknown>) => ({
    apiVersion: PLATFORM_API_VERSION,
    kind: 'ScheduledRun',
    metadata: meta,
    spec: { instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P', suspend: false, maxRunsPerDay: 10, concurrencyPolicy: 'Forbid', ...spec },
  });
  assert.deepEqual(validateManifest(run({ trigger: 'cron', schedule: '0 9 * * 1-5', timeZone: 'Europe/Berlin' })), []);
  assert.deepEqual(validateManifest(run({ trigger: 'webhook' })), []);
  assert.ok(validateManifest(run({ trigger: 'cron' })).length > 0);
  assert.ok(validateManifest(run({ trigger: 'webhook', schedule: '* * * * *', timeZone: 'UTC' })).length > 0);
});

test('an ExternalSecret must name its store, target and Vault key, and carries no data of its own', () => {
  const es = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: meta,
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { name: 'vault-connectors', kind: 'ClusterSecretStore' },
      target: { name: 'inst-x-conn', creationPolicy: 'Owner' },
      dataFrom: [{ extract: { key: 'kv/data/connectors/org_x/prj_y/bind_z' } }],
    },
  };
  assert.deepEqual(validateManifest(es), []);
  assert.ok(paths({ ...es, spec: { ...es.spec, dataFrom: undefined } }).includes('/spec/dataFrom'));
  assert.deepEqual(paths({ ...es, spec: { ...es.spec, stringData: { token: 'x' } } }), ['/spec/stringData']);
});

test('ConfigMap keys follow the Kubernetes key rule and values are strings', () => {
  const cm = (data: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data });
  assert.deepEqual(validateManifest(cm({ 'config.json': '{}' })), []);
  assert.deepEqual(paths(cm({ 'a b': 'x', n: 1 })).sort(), ['/data/a b', '/data/n']);
});
