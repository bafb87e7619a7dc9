import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertValidDesiredState, HTTP_BINDING_ID, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { mcpTools } from './handler';

const ID = 'mcp_tools';

test('https servers with unique names and tools are valid', () => {
  assert.deepEqual(mcpTools.validate(SAMPLE_CONFIGS[ID]), []);
});

test('repeated servers, insecure or credential-carrying URLs and repeated tools are refused', () => {
  const issues = mcpTools.validate({
    servers: [
      { name: 'crm', url: 'http://mcp.acme.example/mcp' },
      { name: 'crm', url: 'https://user:pw@mcp.acme.example/mcp' },
      { name: 'kb', url: 'https://mcp.acme.example/mcp?token=abc', allowedTools: ['a', 'a'] },
      { name: 'meta', url: 'https://169.254.169.254/mcp' },
    ],
  });
  assert.deepEqual(paths(issues), ['/servers/1/name', '/servers/0/url', '/servers/1/url', '/servers/2/url', '/servers/2/allowedTools/1', '/servers/3/url']);
});

test('desired state: a ConnectorPolicy with the servers (reads retried 3×, writes never) and an ExternalSecret per binding', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = mcpTools.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  assert.deepEqual(manifests.map((m) => m.kind), ['ConnectorPolicy', 'ExternalSecret']);
  const spec = manifests[0]!.spec as any;
  assert.deepEqual(spec.retries, { read: 3, write: 0 });
  assert.deepEqual(spec.mcpServers.map((s: any) => [s.name, s.transport, Boolean(s.secretRef)]), [['crm', 'streamable_http', true], ['docs', 'sse', false]]);
  assert.equal(spec.bindings[0].bindingId, HTTP_BINDING_ID);
  assert.equal(spec.mcpServers[0].secretRef.name, (manifests[1]!.spec as any).target.name);
});

test('no credential from the bindings appears in the manifests', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  assertValidDesiredState(ID, mcpTools.desiredState(ctx), ctx);
});

test('meter: 2 credits per MCP call', () => {
  assert.equal(mcpTools.meter({ mcp_calls: 5 }), 10);
});
