/**
 * The capabilities' run-time hooks through POST /v1/runs (Gateway → Runner → built-in offline
 * model, whose answer quotes the question):
 * - guardrails_policy: blocked topics and PII refuse the input with 422 GUARDRAIL_BLOCKED and no
 *   charge; masked PII never reaches the model or the stored history; a refused output is charged
 *   for the model work; maxOutputChars cuts; a stream never forwards a blocked term;
 * - human_handover: asking for a person answers the handoverMessage instead of the model, metered
 *   as one `handovers`, as JSON and as a stream.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { activeInstance, buyer, run, wallet, type Buyer } from '../../test/support/gateway';
import { readEvents } from '../../test/support/sse';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let who: Buyer;

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  who = await buyer(stack, 'guarded@example.com');
});
after(async () => stack?.close());

const guarded = (g: Record<string, unknown>) => activeInstance(stack, who, { configOverrides: { guardrails_policy: g } });

test('a blocked topic or personal data under `block` refuses the input: 422 GUARDRAIL_BLOCKED naming the rule, not the text; nothing charged', async () => {
  const instanceId = await guarded({ blockedTopics: ['weapons'], piiRedaction: 'block', refusalMessage: 'Sorry, not here.' });
  const before = await wallet(stack, who);
  const topic = await run(stack, { token: who.token, instanceId, text: 'Where can I buy Weapons?' });
  assert.equal(topic.status, 422, JSON.stringify(topic.body));
  assert.equal(topic.body.error.code, 'GUARDRAIL_BLOCKED');
  assert.equal(topic.body.error.message, 'Sorry, not here.');
  assert.equal(topic.body.error.details.capability, 'guardrails_policy');
  assert.equal(topic.body.error.details.rule, 'blockedTopics[0]');
  assert.equal(topic.body.error.details.charged, false);
  assert.ok(!JSON.stringify(topic.body).includes('Weapons'));
  const pii = await run(stack, { token: who.token, instanceId, text: 'My SSN is 123-45-6789' });
  assert.equal(pii.status, 422);
  assert.equal(pii.body.error.details.rule, 'pii:ssn');
  assert.ok(!JSON.stringify(pii.body).includes('6789'));
  assert.deepEqual(await wallet(stack, who), before, 'refused inputs take no hold and charge nothing');
});

test('`mask`: the model, the answer and the stored history see [SSN] and [EMAIL], never the values', async () => {
  const instanceId = await guarded({ piiRedaction: 'mask' });
  const r = await run(stack, { token: who.token, instanceId, text: 'My SSN is 123-45-6789, mail me at jo@example.com', body: { sessionId: 'pii-1' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.output.text, /My SSN is \[SSN\], mail me at \[EMAIL\]/);
  const messages = await http('GET', `${stack.url('gateway')}/v1/sessions/pii-1/messages?instanceId=${instanceId}`, { token: who.token });
  assert.equal(messages.status, 200);
  const stored = JSON.stringify(messages.body.items);
  assert.ok(stored.includes('[SSN]') && !stored.includes('6789') && !stored.includes('jo@example.com'), stored);
  const record = await http('GET', `${stack.url('gateway')}/v1/runs/${r.body.runId}`, { token: who.token });
  assert.ok(!JSON.stringify(record.body).includes('6789'), 'the run record holds the masked input');
});

test('a refused output is charged for the model work and recorded failed; maxOutputChars cuts the answer', async () => {
  const instanceId = await guarded({ blockedTopics: ['/offline model/i'], piiRedaction: 'off' });
  const before = await wallet(stack, who);
  const r = await run(stack, { token: who.token, instanceId, text: 'Hello there' });
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'GUARDRAIL_BLOCKED');
  assert.equal(r.body.error.details.stage, 'output');
  assert.equal(r.body.error.details.charged, true);
  assert.ok(r.body.error.details.creditsCharged > 0);
  const after = await wallet(stack, who);
  assert.equal(after.balance, before.balance - r.body.error.details.creditsCharged);
  const record = await http('GET', `${stack.url('gateway')}/v1/runs/${r.body.error.details.runId}`, { token: who.token });
  assert.equal(record.body.status, 'failed');
  assert.equal(record.body.error.code, 'GUARDRAIL_BLOCKED');

  const short = await guarded({ maxOutputChars: 20 });
  const s = await run(stack, { token: who.token, instanceId: short, text: 'How do I return an item?' });
  assert.equal(s.status, 200);
  assert.equal(s.body.output.text.length, 20);
});

test('a stream never forwards a blocked term: the deltas stop before it and the stream ends with a GUARDRAIL_BLOCKED error event', async () => {
  const instanceId = await guarded({ blockedTopics: ['knowledge-base context'], piiRedaction: 'mask' });
  const res = await fetch(`${stack.url('gateway')}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${who.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ instanceId, input: { text: 'Call me on +1 415 555 0100 please' } }),
  });
  assert.equal(res.status, 200);
  const events = await readEvents(res);
  assert.equal(events[0]!.event, 'start');
  assert.equal(events.at(-1)!.event, 'error');
  assert.equal(events.at(-1)!.data.error.code, 'GUARDRAIL_BLOCKED');
  const sent = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
  assert.ok(!/knowledge/i.test(sent), sent);
  assert.ok(!sent.includes('555 0100'), 'the phone number was masked before the model saw it');

  const ok = await fetch(`${stack.url('gateway')}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${who.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ instanceId: await guarded({ piiRedaction: 'mask', maxOutputChars: 30 }), input: { text: 'Hello' } }),
  });
  const okEvents = await readEvents(ok);
  const done = okEvents.at(-1)!;
  assert.equal(done.event, 'done');
  const streamed = okEvents.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
  assert.equal(streamed, done.data.output.text, 'the stream and the final answer agree');
  assert.equal(streamed.length, 30);
});

test('human_handover: "I want to talk to a human agent" answers the configured handoverMessage without the model, billed as one handover', async () => {
  const instanceId = await activeInstance(stack, who, { configOverrides: { human_handover: { handoverMessage: 'A colleague will take over shortly.' } } });
  const before = await wallet(stack, who);
  const r = await run(stack, { token: who.token, instanceId, text: 'I want to talk to a human agent', body: { sessionId: 'handover-1' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.output.text, 'A colleague will take over shortly.');
  assert.equal(r.body.output.answeredBy, 'human_handover');
  assert.equal(r.body.usage.dimensions.handovers, 1);
  assert.equal(r.body.usage.dimensions.tokens_out, undefined, 'no model ran');
  assert.ok(r.body.billing.creditsCharged >= 10, 'a handover costs the registry\'s 10 credits');
  assert.equal((await wallet(stack, who)).balance, before.balance - r.body.billing.creditsCharged);

  const ordinary = await run(stack, { token: who.token, instanceId, text: 'How do I return an item?' });
  assert.equal(ordinary.body.usage.dimensions.handovers, undefined);
  assert.match(ordinary.body.output.text, /return an item/);

  const res = await fetch(`${stack.url('gateway')}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${who.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ instanceId, input: { text: 'Can I speak with a real person?' } }),
  });
  const events = await readEvents(res);
  assert.deepEqual(events.map((e) => e.event), ['start', 'delta', 'done']);
  assert.equal(events[1]!.data.text, 'A colleague will take over shortly.');
  assert.equal(events[2]!.data.usage.dimensions.handovers, 1);
});
