/**
 * `human_handover` end to end: Gateway → Control Plane → Connector Gateway → a local
 * Zendesk-protocol server (test/support/zendesk-server.ts), with the built-in offline model:
 * - "I want to talk to a human" → a ticket at Zendesk with the transcript (the last
 *   `maxTranscriptTurns` turns only), the session handed over (session list, instance event), one
 *   `handovers` metered; every later run in the session answers the hand-over message without the
 *   model and free, and asking again makes no second ticket; released (not by another tenant) →
 *   the model answers again;
 * - the failure rule: Zendesk 5xx after the retries, or 429 beyond Retry-After → 502
 *   CAPABILITY_ERROR, not charged, the hand-over recorded failed, the session not handed over;
 *   a 429 with a short Retry-After is waited out and the ticket created once;
 * - `provider` `zendesk` without `allowPrivateNetworks` cannot reach a private helpdesk;
 * - `provider` `email`: the hand-over e-mail is in the notification outbox with the transcript;
 *   `webhook`: a signed POST (verified with `standardwebhooks`) to the org's notification endpoint;
 * - the helpdesk credential is in no answer, event and log line.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { REDACTED_PATHS } from '../../src/platform/logger';
import { activeInstance, buyer, run, waitFor, wallet, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';
import { startZendeskServer, type ZendeskServer } from '../../test/support/zendesk-server';

const AGENT = 'agent@acme.example';
const SECRET = 'zd_api_token_never_shown_4242';
const MESSAGE = 'A colleague will take over shortly.';

let stack: TestStack;
let zd: ZendeskServer;
let who: Buyer;
let other: Buyer;
const logLines: string[] = [];
const instances: string[] = [];

before(async () => {
  zd = await startZendeskServer({ email: AGENT, apiToken: SECRET });
  const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } });
  const log = pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
  stack = await startTestStack(['control-plane', 'runner', 'gateway', 'connector-gateway'], { SEED_DEMO: '1', NOTIFY_ALLOW_PRIVATE_TARGETS: '1', NOTIFY_POLL_MS: '100' }, { log, connectorGateway: { backoffMs: () => 1 } });
  who = await buyer(stack, 'handover-owner@example.com');
  other = await buyer(stack, 'handover-other@example.com');
});
after(async () => {
  await stack?.close();
  await zd?.close();
});

async function zendeskBinding(b: Buyer, apiBaseUrl = zd.url): Promise<string> {
  const r = await http('POST', `${stack.url('control-plane')}/connectors/bindings`, {
    token: b.token,
    body: { connectorId: 'zendesk', projectId: b.projectId, name: 'Helpdesk', credential: { email: AGENT, apiToken: SECRET }, settings: { subdomain: 'acme', apiBaseUrl } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

async function handoverInstance(b: Buyer, extra: Record<string, unknown> = {}): Promise<string> {
  const bindingId = await zendeskBinding(b);
  const id = await activeInstance(stack, b, { configOverrides: { human_handover: { provider: 'zendesk', email: null, bindingId, allowPrivateNetworks: true, handoverMessage: MESSAGE, maxTranscriptTurns: 1, ...extra } } });
  instances.push(id);
  return id;
}

const events = async (instanceId: string) => (await http('GET', `${stack.url('control-plane')}/instances/${instanceId}/events?limit=200`, { token: who.token })).body.items as { type: string; message: string | null }[];
const sessions = async (instanceId: string) => (await http('GET', `${stack.url('control-plane')}/instances/${instanceId}/sessions`, { token: who.token })).body.items as any[];
const release = (token: string, instanceId: string, sessionId: string) => http('POST', `${stack.url('control-plane')}/instances/${instanceId}/sessions/${sessionId}/release`, { token });

test('asking for a person: a Zendesk ticket with the transcript, the session stays with the person (no model, free) until released', async () => {
  const instanceId = await handoverInstance(who);
  const s = { sessionId: 'hand-1' };
  const first = await run(stack, { token: who.token, instanceId, text: 'How do I return an item?', body: s });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const second = await run(stack, { token: who.token, instanceId, text: 'My order 1042 never arrived', body: s });
  assert.equal(second.body.output.answeredBy, undefined);

  const before = await wallet(stack, who);
  const asked = await run(stack, { token: who.token, instanceId, text: 'I want to talk to a human', body: s });
  assert.equal(asked.status, 200, JSON.stringify(asked.body));
  assert.equal(asked.body.output.text, MESSAGE);
  assert.equal(asked.body.output.answeredBy, 'human_handover');
  assert.equal(asked.body.usage.dimensions.handovers, 1);
  assert.equal(asked.body.usage.dimensions.tokens_out, undefined, 'no model ran');
  assert.equal(zd.tickets.length, 1, 'one ticket reached Zendesk');
  const ticket = zd.tickets[0]!;
  assert.equal(asked.body.output.handover.ticketRef, String(ticket.id));
  assert.equal(asked.body.output.handover.provider, 'zendesk');
  assert.match(ticket.subject, /I want to talk to a human/);
  assert.match(ticket.description, /Customer: My order 1042 never arrived/, 'the transcript is on the ticket');
  assert.ok(!ticket.description.includes('Customer: How do I return an item?'), `maxTranscriptTurns: 1 keeps only the last turn: ${ticket.description}`);
  assert.match(ticket.description, /Customer: I want to talk to a human$/);
  assert.deepEqual(ticket.tags, ['agent-store', 'handover']);
  assert.equal(ticket.idempotencyKey, asked.body.output.handover.handoverId, 'the hand-over id is the idempotency key');
  assert.ok(asked.body.billing.creditsCharged >= 10, 'the hand-over is metered (10 credits)');
  assert.equal((await wallet(stack, who)).balance, before.balance - asked.body.billing.creditsCharged);

  const listed = (await sessions(instanceId)).find((x) => x.sessionId === 'hand-1');
  assert.equal(listed.handover.status, 'open');
  assert.equal(listed.handover.ticketRef, String(ticket.id));
  const viaGateway = await http('GET', `${stack.url('gateway')}/v1/sessions?instanceId=${instanceId}`, { token: who.token });
  assert.equal(viaGateway.status, 200, JSON.stringify(viaGateway.body));
  assert.equal(viaGateway.body.items.find((x: any) => x.sessionId === 'hand-1').handover.status, 'open', 'the chat sees the session is with a person');
  const handed = (await events(instanceId)).filter((e) => e.type === 'session_handed_over');
  assert.equal(handed.length, 1);
  assert.match(handed[0]!.message!, new RegExp(`hand-1 handed over \\(zendesk ticket ${ticket.id}\\)`));

  // While handed over: the hand-over message, no model, nothing charged, no second ticket.
  const mid = await wallet(stack, who);
  for (const text of ['Where is my parcel?', 'Can I speak with a real person?']) {
    const r = await run(stack, { token: who.token, instanceId, text, body: s });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output.text, MESSAGE);
    assert.equal(r.body.output.answeredBy, 'human_handover');
    assert.equal(r.body.output.handover.ticketRef, String(ticket.id));
    assert.equal(r.body.usage.dimensions.tokens_out, undefined, 'no model ran');
    assert.equal(r.body.usage.dimensions.handovers, undefined, 'metered once, by the run that handed over');
    assert.equal(r.body.billing.creditsCharged, 0);
  }
  assert.deepEqual(await wallet(stack, who), mid);
  assert.equal(zd.tickets.length, 1);
  // A streamed run in the handed-over session answers the same way.
  const res = await fetch(`${stack.url('gateway')}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${who.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ instanceId, sessionId: 'hand-1', input: { text: 'Hello?' } }),
  });
  const streamed = await res.text();
  assert.ok(streamed.includes(MESSAGE) && streamed.includes('event: done'), streamed);

  // Another session of the same instance is not affected.
  const elsewhere = await run(stack, { token: who.token, instanceId, text: 'Where is my parcel?', body: { sessionId: 'hand-other' } });
  assert.equal(elsewhere.body.output.answeredBy, undefined);

  // Another tenant cannot release it (the instance does not exist for them).
  const foreign = await release(other.token, instanceId, 'hand-1');
  assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
  assert.equal((await run(stack, { token: who.token, instanceId, text: 'Still there?', body: s })).body.output.answeredBy, 'human_handover');

  const released = await release(who.token, instanceId, 'hand-1');
  assert.equal(released.status, 200, JSON.stringify(released.body));
  assert.equal(released.body.items.length, 1);
  assert.equal(released.body.items[0].status, 'released');
  assert.equal(released.body.items[0].ticketRef, String(ticket.id));
  assert.deepEqual((await release(who.token, instanceId, 'hand-1')).body.items, [], 'idempotent');
  assert.equal((await events(instanceId)).filter((e) => e.type === 'session_released').length, 1);
  assert.equal((await sessions(instanceId)).find((x) => x.sessionId === 'hand-1').handover, undefined);

  const back = await run(stack, { token: who.token, instanceId, text: 'How long does a refund take?', body: s });
  assert.equal(back.status, 200);
  assert.equal(back.body.output.answeredBy, undefined, 'the model answers again');
  assert.ok(back.body.usage.dimensions.tokens_out > 0);
});

test('two requests for a person at once, and a retried request: one ticket, one hand-over charged', async () => {
  const instanceId = await handoverInstance(who);
  const tickets = zd.tickets.length;
  const both = await Promise.all(['I want to talk to a human', 'Can I speak with a real person?'].map((text) => run(stack, { token: who.token, instanceId, text, body: { sessionId: 'hand-race' } })));
  for (const r of both) assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(zd.tickets.length, tickets + 1, 'one ticket for the session');
  assert.deepEqual(both.map((r) => r.body.usage.dimensions.handovers ?? 0).sort(), [0, 1], 'metered once');
  assert.equal(both.filter((r) => r.body.billing.creditsCharged === 0).length, 1, 'the other run is free');
  assert.equal(new Set(both.map((r) => r.body.output.handover.handoverId)).size, 1, 'both name the same hand-over');

  const key = { 'idempotency-key': 'handover-retry-1' };
  const first = await run(stack, { token: who.token, instanceId, text: 'I want to talk to a human', body: { sessionId: 'hand-retry' }, headers: key });
  const again = await run(stack, { token: who.token, instanceId, text: 'I want to talk to a human', body: { sessionId: 'hand-retry' }, headers: key });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(again.body.output, first.body.output);
  assert.equal(zd.tickets.length, tickets + 2, 'the retry made no second ticket');
});

test('provider email: the hand-over e-mail (with the transcript) is in the notification outbox, written with the open hand-over, once', async () => {
  const instanceId = await activeInstance(stack, who, { configOverrides: { human_handover: { provider: 'email', email: 'helpdesk@acme.example', handoverMessage: MESSAGE } } });
  instances.push(instanceId);
  const s = { sessionId: 'mail-1' };
  assert.equal((await run(stack, { token: who.token, instanceId, text: 'Where is order 77?', body: s })).status, 200);
  const asked = await run(stack, { token: who.token, instanceId, text: 'I want to talk to a human', body: s });
  assert.equal(asked.status, 200, JSON.stringify(asked.body));
  assert.deepEqual({ provider: asked.body.output.handover.provider, ticketRef: asked.body.output.handover.ticketRef }, { provider: 'email', ticketRef: null });
  const again = await run(stack, { token: who.token, instanceId, text: 'Hello?', body: s });
  assert.equal(again.body.output.answeredBy, 'human_handover', 'the session is with a person');
  const list = await http('GET', `${stack.url('control-plane')}/orgs/${who.orgId}/notifications?limit=100`, { token: who.token });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const mails = list.body.items.filter((n: any) => n.kind === 'session.handed_over' && n.data.handoverId === asked.body.output.handover.handoverId);
  assert.equal(mails.length, 1, 'one e-mail per hand-over');
  assert.equal(mails[0].channel, 'email');
  assert.equal(mails[0].data.sessionId, 'mail-1');
  assert.match(mails[0].data.transcript, /Customer: Where is order 77\?/);
  assert.match(mails[0].data.transcript, /Customer: I want to talk to a human/);
});

test('provider webhook: the hand-over is a signed POST to the org\'s notification endpoint, written with the open hand-over, once', async () => {
  const received: { verified: boolean; body: any }[] = [];
  let secret = '';
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        received.push({ verified: true, body: new Webhook(secret).verify(raw, req.headers as Record<string, string>) });
      } catch {
        received.push({ verified: false, body: JSON.parse(raw) });
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/agent-store`;
    const put = await http('PUT', `${stack.url('control-plane')}/orgs/${who.orgId}/notification-endpoint`, { token: who.token, body: { url } });
    assert.ok(put.status === 200 || put.status === 201, JSON.stringify(put.body));
    secret = put.body.secret;
    const instanceId = await activeInstance(stack, who, { configOverrides: { human_handover: { provider: 'webhook', email: null, handoverMessage: MESSAGE } } });
    instances.push(instanceId);
    const s = { sessionId: 'hook-1' };
    assert.equal((await run(stack, { token: who.token, instanceId, text: 'Where is order 78?', body: s })).status, 200);
    const asked = await run(stack, { token: who.token, instanceId, text: 'I want to talk to a human', body: s });
    assert.equal(asked.status, 200, JSON.stringify(asked.body));
    assert.equal(asked.body.output.handover.provider, 'webhook');
    assert.equal((await run(stack, { token: who.token, instanceId, text: 'Hello?', body: s })).body.output.answeredBy, 'human_handover', 'the session is with a person');
    const mine = () => received.filter((r) => r.body?.data?.handoverId === asked.body.output.handover.handoverId);
    await waitFor('the signed hand-over POST', async () => (mine().length ? true : undefined), 15_000, 100);
    assert.equal(mine().length, 1, 'one notice per hand-over');
    assert.equal(mine()[0]!.verified, true, 'signed with the org endpoint\'s secret (Standard Webhooks)');
    assert.equal(mine()[0]!.body.type, 'session.handed_over');
    assert.match(mine()[0]!.body.data.transcript, /Customer: Where is order 78\?/);
    const badConfig = await http('PATCH', `${stack.url('control-plane')}/instances/${instanceId}`, { token: who.token, body: { configOverrides: { human_handover: { provider: 'webhook', webhookUrl: 'https://x.example/h' } } } });
    assert.equal(badConfig.status, 422, 'the webhook provider takes no URL of its own');
  } finally {
    await http('DELETE', `${stack.url('control-plane')}/orgs/${who.orgId}/notification-endpoint`, { token: who.token });
    await new Promise<void>((r) => receiver.close(() => r()));
  }
});

test('Zendesk down (5xx after the retries) or rate limiting beyond Retry-After: 502 CAPABILITY_ERROR, nothing charged, recorded failed, not handed over', async () => {
  const instanceId = await handoverInstance(who);
  const s = { sessionId: 'hand-down' };
  const before = await wallet(stack, who);
  const tickets = zd.tickets.length;
  const seen = zd.requests.length;
  zd.failNext(500, 3);
  const down = await run(stack, { token: who.token, instanceId, text: 'I want to talk to a human', body: s });
  assert.equal(down.status, 502, JSON.stringify(down.body));
  assert.equal(down.body.error.code, 'CAPABILITY_ERROR');
  assert.equal(down.body.error.details.capability, 'human_handover');
  assert.equal(down.body.error.details.reason, 'helpdesk_unavailable');
  assert.equal(down.body.error.details.upstreamStatus, 500);
  assert.equal(down.body.error.details.charged, false);
  const attempts = zd.requests.slice(seen);
  assert.equal(attempts.length, 3, 'three attempts at Zendesk');
  assert.equal(new Set(attempts.map((a) => a.idempotencyKey)).size, 1, 'all with the same idempotency key');
  assert.equal(zd.tickets.length, tickets);
  assert.deepEqual(await wallet(stack, who), before, 'not charged');
  const record = await http('GET', `${stack.url('gateway')}/v1/runs/${down.body.error.details.runId}`, { token: who.token });
  assert.equal(record.body.status, 'failed');
  assert.equal(record.body.error.code, 'CAPABILITY_ERROR');
  assert.equal((await events(instanceId)).filter((e) => e.type === 'session_handover_failed').length, 1);
  assert.equal((await sessions(instanceId)).find((x) => x.sessionId === 'hand-down')?.handover, undefined);
  const model = await run(stack, { token: who.token, instanceId, text: 'How do I return an item?', body: s });
  assert.equal(model.body.output.answeredBy, undefined, 'the session is not handed over');

  zd.failNext(429, 1, { 'retry-after': '3600' });
  const limited = await run(stack, { token: who.token, instanceId, text: 'I want to talk to a human', body: s });
  assert.equal(limited.status, 502, JSON.stringify(limited.body));
  assert.equal(limited.body.error.details.reason, 'helpdesk_rate_limited');
  assert.equal(limited.body.error.details.retryAfterSeconds, 3600);
  assert.equal(zd.tickets.length, tickets);

  // A short Retry-After is waited out: one ticket, the session handed over.
  zd.failNext(429, 1, { 'retry-after': '1' });
  const started = Date.now();
  const ok = await run(stack, { token: who.token, instanceId, text: 'I want to talk to a human', body: s });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.ok(Date.now() - started >= 1000, 'Retry-After was honoured');
  assert.equal(zd.tickets.length, tickets + 1);
  assert.equal(ok.body.output.handover.ticketRef, String(zd.tickets.at(-1)!.id));
});

test('a private helpdesk address without allowPrivateNetworks is refused by the SSRF guard (no ticket, not charged)', async () => {
  const bindingId = await zendeskBinding(who);
  const instanceId = await activeInstance(stack, who, { configOverrides: { human_handover: { provider: 'zendesk', email: null, bindingId } } });
  const tickets = zd.tickets.length;
  const r = await run(stack, { token: who.token, instanceId, text: 'I want to talk to a human', body: { sessionId: 'hand-ssrf' } });
  assert.equal(r.status, 502, JSON.stringify(r.body));
  assert.equal(r.body.error.details.reason, 'policy_denied');
  assert.equal(r.body.error.details.charged, false);
  assert.equal(zd.tickets.length, tickets);
});

test('the helpdesk credential is in no answer, event or log line', async () => {
  const basic = Buffer.from(`${AGENT}/token:${SECRET}`).toString('base64');
  assert.ok(zd.requests.some((r) => r.authorized), 'Zendesk saw the credential');
  for (const l of logLines) assert.ok(!l.includes(SECRET) && !l.includes(basic), `a log line leaks the credential: ${l.slice(0, 200)}`);
  const cp = stack.url('control-plane');
  assert.ok(instances.length >= 2);
  for (const id of instances) {
    const text = JSON.stringify(await events(id)) + JSON.stringify(await sessions(id));
    assert.ok(!text.includes(SECRET) && !text.includes(basic));
  }
  const audit = await http('GET', `${cp}/audit/events?orgId=${who.orgId}&limit=200`, { token: who.token });
  assert.equal(audit.status, 200, JSON.stringify(audit.body));
  const text = JSON.stringify(audit.body);
  assert.ok(text.includes('zendesk.create_ticket'), 'each ticket call is audited');
  assert.ok(!text.includes(SECRET) && !text.includes(basic));
});
