import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveConfig } from '../../src/capabilities/effective-config';
import { assertNoSecrets, assertValidDesiredState, paths, SAMPLE_CONFIGS, testContext } from '../../src/capabilities/testing';
import { guardrailsPolicy, parseTopic } from './handler';

const ID = 'guardrails_policy';

test('phrases and /regex/flags topics that compile are valid', () => {
  assert.deepEqual(guardrailsPolicy.validate(SAMPLE_CONFIGS[ID]), []);
});

test('a topic that is not a valid RegExp, has stateful or unknown flags, or can backtrack catastrophically is refused', () => {
  const issues = guardrailsPolicy.validate({ blockedTopics: ['/([a-z]/', '/abc/g', '/abc/ii', '/(a+)+$/', '/ok/i'] });
  assert.deepEqual(paths(issues), ['/blockedTopics/0', '/blockedTopics/1', '/blockedTopics/2', '/blockedTopics/3']);
  assert.match(issues[0]!.message, /not a valid regular expression/);
  assert.match(issues[3]!.message, /nested quantifier/);
});

test('blank or repeated topics and a blank refusal message are refused', () => {
  assert.deepEqual(paths(guardrailsPolicy.validate({ blockedTopics: ['Weapons', ' ', 'weapons'], refusalMessage: '' })), ['/blockedTopics/1', '/blockedTopics/2', '/refusalMessage']);
});

test('topics parse into phrases and regexes', () => {
  assert.deepEqual(parseTopic(' weapons '), { match: 'phrase', value: 'weapons' });
  assert.deepEqual(parseTopic('/medical advice/i'), { match: 'regex', value: 'medical advice', flags: 'i' });
});

test('desired state: a GuardrailPolicy with parsed topics', () => {
  const { config } = effectiveConfig(ID, undefined, undefined, SAMPLE_CONFIGS[ID]);
  const ctx = testContext(config);
  const manifests = guardrailsPolicy.desiredState(ctx);
  assertValidDesiredState(ID, manifests, ctx);
  const spec = manifests[0]!.spec as any;
  assert.deepEqual(spec.blockedTopics.map((t: any) => t.match), ['phrase', 'regex', 'regex']);
  assert.equal(spec.piiRedaction, 'block');
  assert.equal(spec.moderationLevel, 'medium');
  assertNoSecrets(manifests);
});

test('meter: guardrails are not metered', () => {
  assert.equal(guardrailsPolicy.meter({}), 0);
});
