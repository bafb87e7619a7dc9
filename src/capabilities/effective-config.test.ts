import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig, effectiveConfigs, mergeConfigLayers } from './effective-config';
import { capabilityRegistry } from './registry';

test('merge: plain objects merge recursively and the later layer wins', () => {
  assert.deepEqual(mergeConfigLayers({ a: 1, o: { x: 1, y: 1 } }, { o: { y: 2 } }, { o: { z: 3 }, b: 2 }), { a: 1, b: 2, o: { x: 1, y: 2, z: 3 } });
});

test('merge: arrays and scalars are replaced, never appended', () => {
  assert.deepEqual(mergeConfigLayers({ list: [1, 2], s: 'a' }, { list: [3] }, { s: 'b' }), { list: [3], s: 'b' });
  assert.deepEqual(mergeConfigLayers({ o: { x: 1 } }, { o: [1] }), { o: [1] });
  assert.deepEqual(mergeConfigLayers({ o: 5 }, { o: { x: 1 } }), { o: { x: 1 } });
});

test('merge: null in a later layer removes the key; a null layer removes everything before it', () => {
  assert.deepEqual(mergeConfigLayers({ a: 1, o: { x: 1, y: 2 } }, { a: null, o: { x: null } }), { o: { y: 2 } });
  assert.deepEqual(mergeConfigLayers({ a: 1 }, null, { b: 2 }), { b: 2 });
  assert.deepEqual(mergeConfigLayers({ a: 1 }, undefined, { b: undefined }), { a: 1 });
});

test('merge: inputs are never mutated and the result shares nothing with them', () => {
  const plan = { o: { list: [1] } };
  const offering = { o: { y: 1 } };
  const out = mergeConfigLayers(plan, offering);
  (out.o as any).list.push(2);
  (out.o as any).y = 9;
  assert.deepEqual(plan, { o: { list: [1] } });
  assert.deepEqual(offering, { o: { y: 1 } });
});

test('merge: a "__proto__" key stays a plain (and then rejected) key, it does not pollute prototypes', () => {
  const layer = JSON.parse('{"__proto__": {"polluted": true}}');
  const out = mergeConfigLayers({}, layer);
  assert.equal(({} as any).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  const r = effectiveConfig('api_endpoint', layer);
  assert.deepEqual(r.issues.map((i) => i.path), ['/__proto__']);
});

test('schema defaults fill every unset field, nested ones included', () => {
  const r = effectiveConfig('web_widget', { branding: { title: 'Acme' } }, undefined, { allowedOrigins: ['https://acme.example'] });
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.config.branding, { title: 'Acme', primaryColor: '#2563eb', greeting: 'Hi! How can I help?' });
  assert.equal(r.config.position, 'bottom-right');
  assert.equal(r.config.sessionTtlSeconds, 1800);
});

test('a null override brings the schema default back', () => {
  const r = effectiveConfig('api_endpoint', { rateLimitPerMinute: 600 }, { rateLimitPerMinute: 300 }, { rateLimitPerMinute: null });
  assert.equal(r.config.rateLimitPerMinute, 60);
});

test('plan ⊕ offering ⊕ instance: the instance override wins over both', () => {
  const r = effectiveConfig('rag_knowledgebase', { topK: 3, maxChunks: 20 }, { topK: 6, knowledgeBaseIds: ['kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V'] }, { topK: 10 });
  assert.deepEqual(r.issues, []);
  assert.equal(r.config.topK, 10);
  assert.equal(r.config.maxChunks, 20);
  assert.deepEqual(r.config.knowledgeBaseIds, ['kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V']);
});

test('every capability\'s all-defaults config is valid, except human_handover which needs a destination', () => {
  for (const c of capabilityRegistry().capabilities) {
    const r = effectiveConfig(c.id);
    if (c.id === 'human_handover') assert.deepEqual(r.issues, [{ path: '/email', message: 'is required for the email provider' }]);
    else assert.deepEqual(r.issues, [], c.id);
  }
});

test('schema violations are reported as JSON pointers to the offending value', () => {
  const r = effectiveConfig('tool_connectors', undefined, { allowedTools: [{ name: 'http.get', kind: 'delete', connector: 'generic_http' }, { name: 'x' }] }, { unknown: 1, toolTimeoutMs: 5 });
  assert.deepEqual(r.issues.map((i) => i.path).sort(), ['/allowedTools/0/kind', '/allowedTools/1/connector', '/allowedTools/1/kind', '/toolTimeoutMs', '/unknown']);
  assert.ok(r.issues.find((i) => i.path === '/unknown')!.message.includes('not a known field'));
});

test('semantic checks of the handler run on schema-valid configs', () => {
  const r = effectiveConfig('web_widget', undefined, undefined, { allowedOrigins: ['https://acme.example/path'] });
  // the schema pattern already refuses a path, so the schema reports it
  assert.deepEqual(r.issues.map((i) => i.path), ['/allowedOrigins/0']);
  const s = effectiveConfig('web_widget', undefined, undefined, { allowedOrigins: ['https://Acme.example'] });
  assert.deepEqual(s.issues, [{ path: '/allowedOrigins/0', message: 'must be written as browsers send it: https://acme.example' }]);
  const t = effectiveConfig('credits_wallet', { maxCreditsPerRun: 10 }, { estimatedBudgetPerRun: 20 });
  assert.deepEqual(t.issues.map((i) => i.path), ['/estimatedBudgetPerRun']);
});

test('an unknown capability or a non-object layer is an issue, not an exception', () => {
  assert.deepEqual(effectiveConfig('no_such').issues, [{ path: '', message: 'unknown capability "no_such"' }]);
  assert.deepEqual(effectiveConfig('api_endpoint', [1, 2]).issues, [{ path: '', message: 'planDefaults must be an object' }]);
  assert.deepEqual(effectiveConfig('api_endpoint', undefined, undefined, 'x').issues, [{ path: '', message: 'instanceOverrides must be an object' }]);
});

test('effectiveConfigs computes every capability of a version and tags issues with their capability', () => {
  const r = effectiveConfigs(['api_endpoint', 'web_widget', 'credits_wallet'], {
    planDefaults: { api_endpoint: { rateLimitPerMinute: 120 }, credits_wallet: { estimatedBudgetPerRun: 50 } },
    offeringDefaults: { web_widget: { allowedOrigins: ['https://shop.example'] } },
    instanceOverrides: { api_endpoint: { burst: 500 }, rag_knowledgebase: { topK: 3 } },
  });
  assert.deepEqual(Object.keys(r.configs), ['api_endpoint', 'web_widget', 'credits_wallet']);
  assert.equal(r.configs.api_endpoint!.rateLimitPerMinute, 120);
  assert.equal(r.configs.credits_wallet!.estimatedBudgetPerRun, 50);
  assert.deepEqual(r.issues, [
    { capability: 'api_endpoint', path: '/burst', message: 'must not exceed rateLimitPerMinute (120)' },
    { capability: 'rag_knowledgebase', path: '', message: 'instanceOverrides configures rag_knowledgebase, which is not a capability of this version' },
  ]);
});

test('effectiveConfigs reports a capability listed twice', () => {
  const r = effectiveConfigs(['chat_ui', 'chat_ui'], {});
  assert.deepEqual(r.issues, [{ capability: 'chat_ui', path: '', message: 'is listed twice' }]);
});
