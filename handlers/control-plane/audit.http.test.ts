/**
 * The audit log over HTTP: lifecycle, money, membership and API-key changes land in the org's
 * hash chain; org owners/admins list, verify and export it (CSV / NDJSON); other tenants get 404,
 * plain members 403; no secret ever appears; a tampered row is reported as the first broken link.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { orderLineKey } from '../../src/commerce/saleor-keys';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;
let alice: string;
let bob: string;
let ws: any;
let instanceId: string;
let apiKeySecret: string;

const auditUrl = (path: string, query: Record<string, string | number>) => `${cp}/audit/${path}?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`;
const audit = (path: string, token: string, query: Record<string, string | number>) => {
  // The shared http() helper JSON-parses any *json* content type, NDJSON included: exports are read as text.
  if (path !== 'export') return http('GET', auditUrl(path, query), { token });
  return fetch(auditUrl(path, query), { headers: { authorization: `Bearer ${token}` } }).then(async (res) => {
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (res.headers.get('content-type') ?? '').startsWith('application/json') ? JSON.parse(text) : text } as { status: number; headers: Headers; body: any };
  });
};

before(async () => {
  stack = await startTestStack(['control-plane'], { SEED_DEMO: '1' });
  cp = stack.url('control-plane');
  alice = await stack.userToken('audit-alice@example.com');
  bob = await stack.userToken('audit-bob@example.com');
  ws = (await http('POST', `${cp}/orgs/auto`, { token: alice, body: {} })).body;
  await http('POST', `${cp}/orgs/auto`, { token: bob, body: {} });
  const offering = (await http('GET', `${cp}/offerings`)).body.items.find((o: any) => o.slug === 'support-assistant');
  const versionId = (await http('GET', `${cp}/offerings/${offering.id}/versions`)).body.items[0].id;
  const inst = await http('POST', `${cp}/instances`, { token: alice, headers: { 'idempotency-key': 'audit-instance-1' }, body: { projectId: ws.project.id, offeringVersionId: versionId, planId: 'starter' } });
  assert.equal(inst.status, 201, JSON.stringify(inst.body));
  instanceId = inst.body.id;
  for (let i = 0; i < 300; i++) {
    if ((await http('GET', `${cp}/instances/${instanceId}`, { token: alice })).body.state === 'active') break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const paused = await http('POST', `${cp}/instances/${instanceId}/pause`, { token: alice, body: { reason: 'audit test' } });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  const provisioner = await stack.serviceToken('provisioner');
  const topup = await http('POST', `${cp}/wallets/${ws.wallet.id}/topups`, { token: provisioner, headers: { 'idempotency-key': 'saleor:audit-order:line-1' }, body: { amount: 250, creditType: 'paid', source: 'saleor', reference: 'saleor:audit-order:line-1' } });
  assert.equal(topup.status, 201, JSON.stringify(topup.body));
  const key = await http('POST', `${cp}/projects/${ws.project.id}/api-keys`, { token: alice, body: { name: 'audit-ci' } });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  apiKeySecret = key.body.secret;
  assert.equal((await http('POST', `${cp}/projects/${ws.project.id}/api-keys/${key.body.apiKey.id}/revoke`, { token: alice })).status, 200);
  assert.equal((await http('POST', `${cp}/projects/${ws.project.id}/api-keys/${key.body.apiKey.id}/revoke`, { token: alice })).status, 200);
});
after(async () => stack?.close());

test('an instance create, its activation and a pause, a top-up and API key changes are recorded in the org’s chain', async () => {
  const res = await audit('events', alice, { orgId: ws.org.id, limit: 200 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const actions = res.body.items.map((e: any) => e.action);
  for (const a of ['instance.created', 'instance.activated', 'instance.paused', 'wallet.topup', 'api_key.created', 'api_key.revoked']) {
    assert.ok(actions.includes(a), `${a} in ${actions}`);
  }
  const seqs = res.body.items.map((e: any) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a: number, b: number) => b - a), 'newest first');
  const created = res.body.items.find((e: any) => e.action === 'instance.created');
  assert.equal(created.resourceId, instanceId);
  assert.deepEqual(created.actor, { type: 'user', id: 'user-audit-alice@example.com' });
  const pause = res.body.items.find((e: any) => e.action === 'instance.paused');
  assert.deepEqual([pause.data.from, pause.data.to, pause.data.message], ['active', 'paused', 'audit test']);
  const top = res.body.items.find((e: any) => e.action === 'wallet.topup');
  assert.deepEqual([top.resourceId, top.data.amount, top.data.creditType, top.actor.id], [ws.wallet.id, 250, 'paid', 'service:provisioner']);
  assert.ok(top.requestId, 'handler-recorded events carry the request id');
  assert.ok(created.requestId && pause.requestId, 'lifecycle events carry the request id');
  assert.equal(actions.filter((a: string) => a === 'api_key.revoked').length, 1, 'a repeated revoke is recorded once');

  const onlyInstance = await audit('events', alice, { orgId: ws.org.id, resourceId: instanceId });
  assert.ok(onlyInstance.body.items.length >= 3);
  assert.ok(onlyInstance.body.items.every((e: any) => e.resourceId === instanceId || e.data.instanceId === instanceId));
  const lifecycle = await audit('events', alice, { orgId: ws.org.id, action: 'instance.' });
  assert.ok(lifecycle.body.items.every((e: any) => e.action.startsWith('instance.')));
  const p1 = await audit('events', alice, { orgId: ws.org.id, limit: 2 });
  assert.equal(p1.body.items.length, 2);
  const p2 = await audit('events', alice, { orgId: ws.org.id, limit: 2, cursor: p1.body.nextCursor });
  assert.ok(p2.body.items[0].seq < p1.body.items[1].seq);
});

test('membership changes are audited; a plain member may not read the audit log (403), another tenant gets 404', async () => {
  const added = await http('POST', `${cp}/orgs/${ws.org.id}/members`, { token: alice, body: { email: 'audit-bob@example.com', role: 'member' } });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  assert.equal((await audit('events', bob, { orgId: ws.org.id })).status, 403);
  const promoted = await http('PATCH', `${cp}/orgs/${ws.org.id}/members/${added.body.userId}`, { token: alice, body: { role: 'admin' } });
  assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
  assert.equal((await audit('events', bob, { orgId: ws.org.id })).status, 200, 'admins read it');
  assert.equal((await http('DELETE', `${cp}/orgs/${ws.org.id}/members/${added.body.userId}`, { token: alice })).status, 204);
  for (const path of ['events', 'verify', 'export']) {
    const res = await audit(path, bob, { orgId: ws.org.id });
    assert.equal(res.status, 404, `${path}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'NOT_FOUND');
  }
  const members = await audit('events', alice, { orgId: ws.org.id, resourceType: 'org_member' });
  assert.deepEqual(members.body.items.map((e: any) => e.action), ['org.member_removed', 'org.member_role_changed', 'org.member_added']);
});

test('verify: a clean chain verifies', async () => {
  const res = await audit('verify', alice, { orgId: ws.org.id });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.ok, true, JSON.stringify(res.body.firstBrokenLink));
  assert.equal(res.body.firstBrokenLink, null);
  assert.equal(res.body.firstSeq, 1);
  assert.equal(res.body.checkedCount, res.body.lastSeq);
  assert.ok(res.body.checkedCount >= 6);
});

test('export: NDJSON (default) and CSV, oldest first, with a file name; neither holds the API key secret', async () => {
  const nd = await audit('export', alice, { orgId: ws.org.id });
  assert.equal(nd.status, 200);
  assert.match(nd.headers.get('content-type') ?? '', /^application\/x-ndjson/);
  assert.equal(nd.headers.get('content-disposition'), `attachment; filename="audit-${ws.org.id}.ndjson"`);
  const events = String(nd.body).trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1));
  for (const e of events) {
    for (const k of ['id', 'seq', 'orgId', 'action', 'resourceType', 'resourceId', 'actor', 'requestId', 'data', 'prevHash', 'hash', 'createdAt']) assert.ok(k in e, `${k} in ${JSON.stringify(e)}`);
    assert.match(e.id, /^evt_[A-Za-z0-9]{8,40}$/);
    assert.match(e.hash, /^[a-f0-9]{64}$/);
  }
  for (let i = 1; i < events.length; i++) assert.equal(events[i].prevHash, events[i - 1].hash);

  const csv = await audit('export', alice, { orgId: ws.org.id, format: 'csv', action: 'wallet.' });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  const lines = String(csv.body).split('\r\n').filter(Boolean);
  assert.equal(lines[0], 'id,seq,createdAt,orgId,projectId,action,resourceType,resourceId,actorType,actorId,requestId,data,prevHash,hash');
  assert.ok(lines.slice(1).every((l) => l.includes(',wallet.')));

  assert.ok(apiKeySecret && apiKeySecret.length > 10);
  const all = [String(nd.body), String((await audit('export', alice, { orgId: ws.org.id, format: 'csv' })).body), JSON.stringify((await audit('events', alice, { orgId: ws.org.id, limit: 200 })).body)];
  const secretTail = apiKeySecret.slice(-16);
  for (const text of all) {
    assert.ok(!text.includes(apiKeySecret), 'the API key secret is never audited');
    assert.ok(!text.includes(secretTail), 'nor any part of it');
  }
});

test('verify over HTTP reports the first broken link after a superuser edits a row', async () => {
  const db = stack.db!;
  const [victim] = (await db.raw(`select id, seq, hash from audit_events where org_id = ? order by seq limit 1 offset 2`, [ws.org.id])).rows;
  await db.transaction(async (trx) => {
    await trx.raw('alter table audit_events disable trigger audit_events_append_only');
    await trx.raw(`update audit_events set data = data || '{"amount": 1000000}'::jsonb where id = ?`, [victim.id]);
    await trx.raw('alter table audit_events enable trigger audit_events_append_only');
  });
  const res = await audit('verify', alice, { orgId: ws.org.id });
  assert.equal(res.status, 200);
  assert.equal(res.body.ok, false);
  assert.deepEqual(
    { eventId: res.body.firstBrokenLink.eventId, seq: res.body.firstBrokenLink.seq, reason: res.body.firstBrokenLink.reason, actualHash: res.body.firstBrokenLink.actualHash },
    { eventId: victim.id, seq: victim.seq, reason: 'hash_mismatch', actualHash: victim.hash },
  );
});

test('a settle and a void are audited, and crossing the low-balance threshold records wallet.low_balance', async () => {
  assert.equal((await http('POST', `${cp}/instances/${instanceId}/resume`, { token: alice, body: {} })).status, 200);
  const gw = await stack.serviceToken('gateway');
  const w = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token: alice })).body;
  const patched = await http('PATCH', `${cp}/wallets/${ws.wallet.id}`, { token: alice, body: { lowBalanceThreshold: w.balance } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const authorize = (runId: string) => http('POST', `${cp}/billing/authorize`, { token: gw, headers: { 'idempotency-key': `authz-${runId}` }, body: { instanceId, estimatedBudget: 20, runId } });
  const a = await authorize('run_AUDIT0000001');
  assert.equal(a.status, 201, JSON.stringify(a.body));
  const s = await http('POST', `${cp}/billing/settle`, { token: gw, body: { reservationId: a.body.reservationId, usage: { tokens_in: 1500, tokens_out: 300, runs: 1 } } });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.equal((await http('POST', `${cp}/billing/settle`, { token: gw, body: { reservationId: a.body.reservationId, usage: { tokens_in: 1500, tokens_out: 300, runs: 1 } } })).status, 200);
  const b = await authorize('run_AUDIT0000002');
  assert.equal((await http('POST', `${cp}/billing/void`, { token: gw, body: { reservationId: b.body.reservationId, reason: 'run_failed' } })).status, 200);

  let items: any[] = [];
  for (let i = 0; i < 100; i++) {
    items = (await audit('events', alice, { orgId: ws.org.id, limit: 200 })).body.items;
    if (items.some((e) => e.action === 'wallet.low_balance')) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const settled = items.filter((e) => e.action === 'billing.settled');
  assert.equal(settled.length, 1, 'a replayed settle is not recorded twice');
  assert.deepEqual([settled[0].resourceId, settled[0].data.ledgerEntryId, settled[0].data.instanceId, settled[0].actor.id], [a.body.reservationId, s.body.ledgerEntryId, instanceId, 'service:gateway']);
  const voided = items.find((e) => e.action === 'billing.voided');
  assert.deepEqual([voided.resourceId, voided.data.reason], [b.body.reservationId, 'run_failed']);
  const low = items.find((e) => e.action === 'wallet.low_balance');
  assert.ok(low, JSON.stringify(items.map((e) => e.action)));
  assert.deepEqual([low.resourceId, low.data.threshold, low.actor.type], [ws.wallet.id, w.balance, 'system']);
  const threshold = items.find((e) => e.action === 'wallet.threshold_changed');
  assert.deepEqual([threshold.resourceId, threshold.data.lowBalanceThreshold, threshold.actor.type], [ws.wallet.id, w.balance, 'user']);
  assert.equal((await audit('verify', alice, { orgId: ws.org.id })).body.firstBrokenLink?.reason, 'hash_mismatch', 'still the tampered row from before; nothing new breaks');
});

test('a paid Saleor credit pack is audited as wallet.topup (actor: the provisioner), once per order line', async () => {
  const provisioner = await stack.serviceToken('provisioner');
  const line = { saleorApiUrl: 'https://shop.example.com/graphql/', orderId: 'T3JkZXI6YXVkaXQtMQ==', lineId: 'T3JkZXJMaW5lOmF1ZGl0LTE=', buyer: { email: 'audit-alice@example.com', orgId: ws.org.id }, kind: 'credit_pack', creditsAmount: 100, quantity: 2, sku: 'credits:100' };
  const key = orderLineKey(line.saleorApiUrl, line.orderId, line.lineId);
  for (let i = 0; i < 2; i++) {
    const res = await http('POST', `${cp}/integrations/saleor/order-paid`, { token: provisioner, headers: { 'idempotency-key': key }, body: line });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  const res = await audit('events', alice, { orgId: ws.org.id, action: 'wallet.topup', limit: 200 });
  const saleor = res.body.items.filter((e: any) => e.data.orderId === line.orderId);
  assert.equal(saleor.length, 1);
  assert.deepEqual([saleor[0].data.amount, saleor[0].data.reference, saleor[0].actor.id], [200, key, 'service:provisioner']);
  assert.ok(saleor[0].requestId);
});
