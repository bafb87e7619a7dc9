import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { HandoverDelivery, TicketRequest } from '../../src/capabilities/hook-types';
import { deliverHandover, ticketBody, ticketSubject } from './ticket';

const delivery = (created: TicketRequest[]): HandoverDelivery => ({
  handoverId: 'hov_01TESTTESTTESTTEST',
  instanceId: 'inst_01TESTTESTTEST',
  runId: 'run_01TESTTESTTEST',
  sessionId: 'ses-1',
  transcript: [{ role: 'user', content: 'Where is order 1042?' }, { role: 'assistant', content: 'It shipped on Monday.' }],
  input: 'I want to talk to a human',
  services: { createTicket: async (req) => (created.push(req), { ticketRef: '35436' }) },
});

test('includeTranscript: the ticket carries the session so far, oldest first, then the request; without it only the request', () => {
  const d = delivery([]);
  const body = ticketBody(d, 'user_request', true);
  assert.match(body, /^The customer asked to talk to a person\.\nInstance inst_01TESTTESTTEST · session ses-1 · run run_01TESTTESTTEST/);
  assert.ok(body.indexOf('Customer: Where is order 1042?') < body.indexOf('Assistant: It shipped on Monday.'));
  assert.match(body, /Customer: I want to talk to a human$/);
  const bare = ticketBody(d, 'keyword', false);
  assert.ok(!bare.includes('order 1042') && !bare.includes('shipped'), bare);
  assert.match(bare, /used a hand-over keyword/);
});

test('the subject is the request on one line, cut at 80 characters', () => {
  assert.equal(ticketSubject('I want\n to talk   to a human'), 'Conversation handed over: I want to talk to a human');
  assert.equal(ticketSubject('x'.repeat(200)).length, 'Conversation handed over: '.length + 80);
});

test('zendesk: one ticket through the platform service, keyed by the hand-over id, with the binding; email and webhook create none', async () => {
  const created: TicketRequest[] = [];
  const zendesk = withDefaults('human_handover', { provider: 'zendesk' as const, bindingId: 'bind_01TESTTESTTEST', includeTranscript: false });
  assert.deepEqual(await deliverHandover(zendesk, 'user_request', delivery(created)), { ticketRef: '35436' });
  assert.equal(created.length, 1);
  assert.equal(created[0]!.idempotencyKey, 'hov_01TESTTESTTESTTEST');
  assert.equal(created[0]!.bindingId, 'bind_01TESTTESTTEST');
  assert.ok(!created[0]!.body.includes('order 1042'), 'includeTranscript: false');
  for (const provider of ['email', 'webhook'] as const) {
    assert.deepEqual(await deliverHandover(withDefaults('human_handover', { provider }), 'keyword', delivery(created)), {});
  }
  assert.equal(created.length, 1);
});
