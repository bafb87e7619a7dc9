import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { promptOrchestrator } from './handler';

const ID = 'prompt_orchestrator';

test('a prompt whose placeholders are all declared variables is valid', () => {
  assert.deepEqual(promptOrchestrator.validate(SAMPLE_CONFIGS[ID]), []);
  assert.deepEqual(promptOrchestrator.validate({ systemPrompt: 'Reply as JSON like {"a": 1} or { }.' }), [], 'non-identifier braces are text');
});

test('an undeclared placeholder, a non-identifier variable and an unknown builtin model are refused', () => {
  const issues = promptOrchestrator.validate({ systemPrompt: 'Hi {name}, from {company}.', variables: { company: 'Acme', 'bad-name': 'x' }, model: 'builtin:gpt' });
  assert.deepEqual(paths(issues), ['/variables/bad-name', '/systemPrompt', '/model']);
  assert.match(issues[1]!.message, /\{name\}/);
});

test('desired state is one valid ConfigMap with the generation settings and defaults', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = promptOrchestrator.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  assert.equal(manifests.length, 1);
  const settings = JSON.parse(manifests[0]!.data!['config.json']!);
  assert.equal(settings.model, 'builtin:deterministic');
  assert.equal(settings.maxTokens, 1024);
  assert.deepEqual(settings.variables, { company: 'Acme', tone: 'friendly' });
});

test('no credential from the context reaches the manifests', () => {
  // testContext's bindings smuggle a fake credential; assertNoSecrets scans for every value of it.
  const { config } = effectiveConfig(ID);
  const ctx = testContext(config);
  assertNoSecrets(promptOrchestrator.desiredState(ctx));
});

test('meter: prompt and output tokens at 1/1000 and 4/1000, rounded up once', () => {
  assert.equal(promptOrchestrator.meter({ tokens_in: 1200, tokens_out: 350 }), 3); // 1.2 + 1.4 = 2.6
  assert.equal(promptOrchestrator.meter({ tokens_in: 1 }), 1);
  assert.equal(promptOrchestrator.meter({}), 0);
});
