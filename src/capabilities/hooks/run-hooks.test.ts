import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capabilityHandlers } from '../../../generated/capabilities/handler-registry';
import { AppError } from '../../platform/errors';
import { hookedCapabilities, outputStreamChain, runAfterHooks, runBeforeHooks, runToolCallHooks, type RunFacts } from './run-hooks';

const facts = (handlers?: Record<string, unknown>): RunFacts => ({ instanceId: 'inst_1', orgId: 'org_1', projectId: 'prj_1', runId: 'run_1', sessionId: null, channel: 'user', ...(handlers ? { handlers } : {}) });
const ent = (config: Record<string, Record<string, unknown>>) => ({ capabilities: Object.keys(config), config });

test('only the instance\'s capabilities that declare a hook are called; guardrails see the input first and the output last', () => {
  const e = ent({ human_handover: { provider: 'email', email: 'a@b.example' }, multilingual: {}, guardrails_policy: {}, chat_ui: {} });
  assert.deepEqual(hookedCapabilities(e, 'beforeRun').map((h) => h.id), ['guardrails_policy', 'human_handover', 'multilingual']);
  assert.deepEqual(hookedCapabilities(e, 'afterRun', 'output').map((h) => h.id), ['guardrails_policy']);
  assert.deepEqual(hookedCapabilities(ent({ chat_ui: {} }), 'beforeRun'), []);
  assert.equal(hookedCapabilities(e, 'beforeRun')[0]!.config.piiRedaction, 'mask', 'hooks get the config with schema defaults');
});

test('a hook that throws fails closed with CAPABILITY_ERROR naming the capability and hook (not its message); a refusal is GUARDRAIL_BLOCKED', async () => {
  const boom = { ...capabilityHandlers, multilingual: { ...capabilityHandlers.multilingual, beforeRun: () => { throw new Error('secret user text'); } } };
  const err = await runBeforeHooks(ent({ multilingual: {} }), 'hello', facts(boom)).catch((e) => e);
  assert.ok(err instanceof AppError);
  assert.equal(err.code, 'CAPABILITY_ERROR');
  assert.equal(err.status, 502);
  assert.deepEqual(err.details, { capability: 'multilingual', hook: 'beforeRun' });
  assert.ok(!err.message.includes('secret user text'));

  const refused = await runBeforeHooks(ent({ guardrails_policy: { blockedTopics: ['weapons'] } }), 'weapons', facts()).catch((e) => e);
  assert.equal(refused.code, 'GUARDRAIL_BLOCKED');
  assert.equal(refused.status, 422);
  assert.equal(refused.details.capability, 'guardrails_policy');

  const throwingStream = { ...capabilityHandlers, guardrails_policy: { ...capabilityHandlers.guardrails_policy, outputStream: () => ({ push: () => { throw new Error('x'); }, end: () => '' }) } };
  const chain = outputStreamChain(ent({ guardrails_policy: {} }), facts(throwingStream))!;
  assert.throws(() => chain.push('a'), (e: AppError) => e.code === 'CAPABILITY_ERROR' && e.details?.hook === 'outputStream');
});

test('beforeRun results combine: masked text flows on, instructions add up, an answer stops the chain', async () => {
  const e = ent({ guardrails_policy: { piiRedaction: 'mask' }, multilingual: { supportedLanguages: ['en', 'de'] }, human_handover: { provider: 'email', email: 'a@b.example' } });
  const r = await runBeforeHooks(e, 'Meine Nummer ist 123-45-6789, wie lange dauert der Versand nach Hamburg?', facts());
  assert.match(r.text, /\[SSN\]/);
  assert.deepEqual(r.instructions, ['Reply in German (de), whatever language the context or earlier turns are in.']);
  const h = await runBeforeHooks(e, 'I want to talk to a human agent', facts());
  const { handover, ...answer } = h.answer!;
  assert.deepEqual(answer, { capability: 'human_handover', text: "I'm connecting you with a member of our team. They'll reply here or by email shortly.", usage: { handovers: 1 } });
  assert.deepEqual({ provider: handover?.provider, trigger: handover?.trigger, deliver: typeof handover?.deliver }, { provider: 'email', trigger: 'user_request', deliver: 'function' }, 'the answer asks the platform to hand the session over');
  assert.deepEqual(h.instructions, [], 'multilingual, after human_handover, did not run');
  assert.equal(await runAfterHooks(ent({ guardrails_policy: { maxOutputChars: 3 } }), 'abcdef', facts()), 'abc');
});

test('onToolCall (connector gateway): guardrails refuse a tool call whose input has a blocked topic, or personal data under piiRedaction block, as POLICY_DENIED', async () => {
  const call = (input: Record<string, unknown>) => ({ tool: 'http.get', bindingId: 'bind_1', input });
  const e = { ...ent({ guardrails_policy: { blockedTopics: ['weapons'], piiRedaction: 'block' } }), instanceId: 'inst_1' };
  const topic = await runToolCallHooks(e, call({ url: 'https://api.example/search?q=weapons' }), 'run_1').catch((err) => err);
  assert.equal(topic.code, 'POLICY_DENIED');
  assert.deepEqual([topic.details.capability, topic.details.rule, topic.details.reason], ['guardrails_policy', 'blockedTopics[0]', 'capability_refused']);
  const pii = await runToolCallHooks(e, call({ url: 'https://api.example/u', body: { ssn: '123-45-6789' } }), 'run_1').catch((err) => err);
  assert.equal(pii.details.rule, 'pii:ssn');
  assert.equal(await runToolCallHooks(e, call({ url: 'https://api.example/orders/42' }), 'run_1'), undefined);
  const masked = { ...ent({ guardrails_policy: { piiRedaction: 'mask' } }), instanceId: 'inst_1' };
  assert.equal(await runToolCallHooks(masked, call({ url: 'https://api.example/u', body: { email: 'jo@example.com' } }), 'run_1'), undefined, 'mask lets tool arguments through');
  assert.equal(await runToolCallHooks({ ...ent({ chat_ui: {} }), instanceId: 'inst_1' }, call({ q: 'weapons' }), undefined), undefined, 'no guardrails, no refusal');
});
