import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { multilingual } from './handler';

const ID = 'multilingual';

test('default and fallback languages among the supported ones are valid', () => {
  assert.deepEqual(multilingual.validate(SAMPLE_CONFIGS[ID]), []);
  assert.deepEqual(multilingual.validate({ supportedLanguages: ['en-us'], defaultLanguage: 'en-US', fallbackLanguage: 'en-us' }), []);
});

test('a default or fallback language outside the supported list is refused', () => {
  const issues = multilingual.validate({ supportedLanguages: ['fr'], defaultLanguage: 'en', fallbackLanguage: 'de' });
  assert.deepEqual(paths(issues), ['/defaultLanguage', '/fallbackLanguage']);
  assert.match(issues[0]!.message, /not in supportedLanguages/);
});

test('languages that repeat after canonicalisation are refused', () => {
  assert.deepEqual(paths(multilingual.validate({ supportedLanguages: ['en-US', 'en-us'], defaultLanguage: 'en-US', fallbackLanguage: 'en-US' })), ['/supportedLanguages/1']);
});

test('desired state: a ConfigMap with canonical language tags', () => {
  const { config, issues } = effectiveConfig(ID, undefined, undefined, { supportedLanguages: ['en-us', 'pt-br'], defaultLanguage: 'pt-br', fallbackLanguage: 'en-us' });
  assert.deepEqual(issues, []);
  const ctx = testContext(config);
  const manifests = multilingual.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  const settings = JSON.parse(manifests[0]!.data!['config.json']!);
  assert.deepEqual(settings.supportedLanguages, ['en-US', 'pt-BR']);
  assert.equal(settings.defaultLanguage, 'pt-BR');
  assertNoSecrets(manifests);
});

test('meter: multilingual is not metered', () => {
  assert.equal(multilingual.meter({}), 0);
  assert.equal(multilingual.meter({ tokens_in: 1000 } as never), 0);
});
