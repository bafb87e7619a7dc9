import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { webWidget } from './handler';

const ID = 'web_widget';

test('exact https origins, a *.domain wildcard and http://localhost are valid', () => {
  assert.deepEqual(webWidget.validate(SAMPLE_CONFIGS[ID]), []);
});

test('origins with a path, plain http, a default port, upper case, loose wildcards or repeats are refused', () => {
  const issues = webWidget.validate({
    allowedOrigins: [
      'https://shop.acme.example/widget',
      'http://shop.acme.example',
      'https://shop.acme.example:443',
      'https://Shop.acme.example',
      'https://*.example',
      'https://shop*.acme.example',
      'https://a.acme.example',
      'https://a.acme.example',
    ],
  });
  assert.deepEqual(paths(issues), ['/allowedOrigins/0', '/allowedOrigins/1', '/allowedOrigins/2', '/allowedOrigins/3', '/allowedOrigins/4', '/allowedOrigins/5', '/allowedOrigins/7']);
});

test('a logo over plain http or a blank title is refused', () => {
  assert.deepEqual(paths(webWidget.validate({ branding: { logoUrl: 'http://cdn.acme.example/l.png', title: ' ' } })), ['/branding/logoUrl', '/branding/title']);
});

test('desired state: a WidgetConfig and the GatewayPolicy with its rate limit and allowed origins', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = webWidget.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  const [widget, policy] = manifests as [any, any];
  assert.equal(widget.kind, 'WidgetConfig');
  assert.deepEqual(widget.spec.branding, { title: 'Acme help', primaryColor: '#2563eb', greeting: 'Hi! How can I help?', logoUrl: 'https://cdn.acme.example/logo.png' });
  assert.equal(policy.spec.scope, 'widget');
  assert.deepEqual(policy.spec.targetRef, { group: 'platform.agentstore.dev', kind: 'WidgetConfig', name: widget.metadata.name });
  assert.deepEqual(policy.spec.cors.allowedOrigins, SAMPLE_CONFIGS[ID].allowedOrigins);
  assert.deepEqual(policy.spec.rateLimit, { requestsPerMinute: 20 });
});

test('no credential from the context reaches the manifests', () => {
  const { config } = effectiveConfig(ID);
  assertNoSecrets(webWidget.desiredState(testContext(config)));
});

test('meter: 1 credit per widget message', () => {
  assert.equal(webWidget.meter({ widget_runs: 1, tokens_in: 5000 } as { widget_runs: number }), 1, "other capabilities' dimensions are ignored");
});
