import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { chatUi } from './handler';

const ID = 'chat_ui';

test('distinct suggested prompts and a welcome message are valid', () => {
  assert.deepEqual(chatUi.validate(SAMPLE_CONFIGS[ID]), []);
});

test('blank or repeated suggested prompts and a blank welcome message are refused', () => {
  assert.deepEqual(paths(chatUi.validate({ welcomeMessage: '  ', suggestedPrompts: ['Track order', ' ', 'track order'] })), [
    '/suggestedPrompts/1',
    '/suggestedPrompts/2',
    '/welcomeMessage',
  ]);
});

test('desired state: a chat GatewayRoute for user tokens only, and a ConfigMap with what the page shows', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = chatUi.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  const [route, cm] = manifests as [any, any];
  assert.equal(route.spec.surface, 'chat');
  assert.deepEqual(route.spec.auth, { oidc: true, apiKeys: false });
  assert.deepEqual(route.spec.rateLimit, { requestsPerMinute: 30 });
  assert.deepEqual(route.spec.session, { historyTurns: 20, retentionDays: 30 });
  assert.deepEqual(JSON.parse(cm.data['config.json']).suggestedPrompts, ['Where is my order?', 'Reset my password']);
});

test('no credential from the context reaches the manifests', () => {
  const { config } = effectiveConfig(ID);
  assertNoSecrets(chatUi.desiredState(testContext(config)));
});

test('meter: 1 credit per chat message answered', () => {
  assert.equal(chatUi.meter({ chat_runs: 4 }), 4);
});
