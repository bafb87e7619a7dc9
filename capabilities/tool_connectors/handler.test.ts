import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { ANNOTATION, connectorVaultPath } from '../../src/capabilities/manifest';
import { assertValidDesiredState, HTTP_BINDING_ID, paths, SAMPLE_CONFIGS, SLACK_BINDING_ID, TEST_IDS, testContext } from '../../src/capabilities/testing';
import { toolConnectors } from './handler';

const ID = 'tool_connectors';
const render = (overrides: object, ctxOverrides = {}) => {
  const { config, issues } = effectiveConfig(ID, undefined, undefined, overrides);
  assert.deepEqual(issues, []);
  const ctx = testContext(config, ctxOverrides);
  const manifests = toolConnectors.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  return manifests;
};

test('unique tools with connectors and valid public hosts are valid', () => {
  assert.deepEqual(toolConnectors.validate(SAMPLE_CONFIGS[ID]), []);
});

test('repeated tool names, a tool without a connector and bad or repeated hosts are refused', () => {
  const issues = toolConnectors.validate({
    allowedTools: [
      { name: 'http.get', kind: 'read', connector: 'generic_http' },
      { name: 'http.get', kind: 'read', connector: 'generic_http' },
      { name: 'crm.update', kind: 'write', connector: '' },
    ],
    allowedHosts: ['api.acme.example', 'API.acme.example', 'bad_host', '*.com'],
  });
  assert.deepEqual(paths(issues), ['/allowedTools/1/name', '/allowedTools/2/connector', '/allowedHosts/2', '/allowedHosts/3', '/allowedHosts/1']);
  assert.match(issues[1]!.message, /write tools need a connector/);
});

test('generic_http tools need allowed hosts', () => {
  assert.deepEqual(paths(toolConnectors.validate({ allowedTools: [{ name: 'http.get', kind: 'read', connector: 'generic_http' }] })), ['/allowedHosts']);
});

test('private targets need allowPrivateNetworks, which then allows only exactly named hosts', () => {
  assert.deepEqual(paths(toolConnectors.validate({ allowedHosts: ['10.0.0.5', 'localhost'] })), ['/allowedHosts/0', '/allowedHosts/1']);
  assert.deepEqual(toolConnectors.validate({ allowedHosts: ['10.0.0.5'], allowPrivateNetworks: true }), []);
  assert.deepEqual(paths(toolConnectors.validate({ allowedHosts: ['*.corp.example'], allowPrivateNetworks: true })), ['/allowedHosts/0']);
  assert.deepEqual(paths(toolConnectors.validate({ allowPrivateNetworks: true })), ['/allowPrivateNetworks']);
});

test('desired state: a ConnectorPolicy that never retries writes, and one ExternalSecret per binding used', () => {
  const manifests = render(SAMPLE_CONFIGS[ID]);
  assert.deepEqual(manifests.map((m) => m.kind), ['ConnectorPolicy', 'ExternalSecret', 'ExternalSecret']);
  const spec = manifests[0]!.spec as any;
  assert.deepEqual(spec.retries, { read: 3, write: 0 });
  assert.deepEqual(spec.allowedHosts, ['api.acme.example', '*.crm.acme.example']);
  assert.deepEqual(spec.bindings.map((b: any) => b.bindingId), [HTTP_BINDING_ID, SLACK_BINDING_ID]);
  assert.ok(spec.tools.every((t: any) => t.secretRef?.name));
  const keys = manifests.slice(1).map((m) => (m.spec as any).dataFrom[0].extract.key);
  assert.deepEqual(keys, [connectorVaultPath(TEST_IDS.orgId, TEST_IDS.projectId, HTTP_BINDING_ID), connectorVaultPath(TEST_IDS.orgId, TEST_IDS.projectId, SLACK_BINDING_ID)]);
  assert.equal(manifests[0]!.metadata.annotations?.[ANNOTATION.privateNetworks], undefined);
});

test('a tool whose connector has no binding gets no secret and is refused by the gateway (fails closed)', () => {
  const manifests = render({ allowedTools: [{ name: 'jira.create_issue', kind: 'write', connector: 'jira' }] });
  assert.deepEqual(manifests.map((m) => m.kind), ['ConnectorPolicy']);
  assert.equal((manifests[0]!.spec as any).tools[0].secretRef, undefined);
});

test('turning private networks on is flagged on the ConnectorPolicy for review', () => {
  const manifests = render({ allowedHosts: ['10.0.0.5'], allowPrivateNetworks: true });
  assert.equal(manifests[0]!.metadata.annotations?.[ANNOTATION.privateNetworks], 'allowed');
});

test('a binding recorded under another tenant\'s Vault path is refused, never referenced', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const foreign = { bindingId: HTTP_BINDING_ID, connectorId: 'generic_http', vaultPath: connectorVaultPath('org_OTHERTENANT1', 'prj_OTHERPROJECT1', HTTP_BINDING_ID) };
  assert.throws(() => toolConnectors.desiredState(testContext(config, { bindings: [foreign] })), /not a binding of project/);
});

test('VAULT_KV_MOUNT: ExternalSecrets read <mount>/data/…; a binding recorded under another mount is refused by name', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const binding = (mount: string) => ({ bindingId: HTTP_BINDING_ID, connectorId: 'generic_http', vaultPath: connectorVaultPath(TEST_IDS.orgId, TEST_IDS.projectId, HTTP_BINDING_ID, mount) });
  const ctx = testContext(config, { vaultMount: 'secret', bindings: [binding('secret')] });
  const manifests = toolConnectors.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  const keys = manifests.filter((m) => m.kind === 'ExternalSecret').map((m) => (m.spec as any).dataFrom[0].extract.key);
  assert.ok(keys.length > 0 && keys.every((k) => k.startsWith('secret/data/connectors/')), keys.join());
  assert.throws(() => toolConnectors.desiredState(testContext(config, { vaultMount: 'secret', bindings: [binding('kv')] })), /another Vault mount than VAULT_KV_MOUNT=secret/);
});

test('no credential from the bindings (or the fake credential object) appears in the manifests', () => {
  const manifests = render(SAMPLE_CONFIGS[ID]);
  const text = JSON.stringify(manifests);
  assert.ok(!text.includes('sk_live_'));
  assert.ok(!text.includes('credential'));
});

test('meter: 2 credits per tool call', () => {
  assert.equal(toolConnectors.meter({ tool_calls: 3 }), 6);
  assert.equal(toolConnectors.meter({}), 0);
});
