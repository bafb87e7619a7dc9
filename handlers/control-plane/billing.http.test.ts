/**
 * The money path over HTTP, as the gateway and the provisioner call it: T4 (debit, blocked at
 * zero), T5 (top-up unblocks), T8 (settle retry → same ledgerEntryId), void and resolve-once,
 * wallet history, and other tenants' ids answering 404.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;
let gw: string; // gateway service token
let user: string;
let ws: any;
let instanceId: string;
let runSeq = 0;
const runId = () => `run_TEST${String(++runSeq).padStart(8, '0')}`;

before(async () => {
  stack = await startTestStack(['control-plane'], { SEED_DEMO: '1' });
  cp = stack.url('control-plane');
  gw = await stack.serviceToken('gateway');
  user = await stack.userToken('payer@example.com');
  ws = (await http('POST', `${cp}/orgs/auto`, { token: user, body: {} })).body;
  const offerings = (await http('GET', `${cp}/offerings`)).body.items;
  const offering = offerings.find((o: any) => o.slug === 'support-assistant');
  const versionId = (await http('GET', `${cp}/offerings/${offering.id}/versions`)).body.items[0].id;
  const inst = await http('POST', `${cp}/instances`, { token: user, headers: { 'idempotency-key': 'billing-instance-1' }, body: { projectId: ws.project.id, offeringVersionId: versionId, planId: 'starter' } });
  instanceId = inst.body.id;
  for (let i = 0; i < 200; i++) {
    if ((await http('GET', `${cp}/instances/${instanceId}`, { token: user })).body.state === 'active') break;
    await new Promise((r) => setTimeout(r, 25));
  }
});
after(async () => stack?.close());

const authorize = (amount: number, id = runId()) =>
  http('POST', `${cp}/billing/authorize`, { token: gw, headers: { 'idempotency-key': `authz-${id}` }, body: { instanceId, estimatedBudget: amount, runId: id } });
const settle = (reservationId: string, usage: Record<string, number>) =>
  http('POST', `${cp}/billing/settle`, { token: gw, body: { reservationId, usage } });
const wallet = async () => (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token: user })).body;

test('authorize holds budget; settle debits the metered usage; a retried settle answers the same ledgerEntryId (T8)', async () => {
  const before = await wallet();
  const a = await authorize(40);
  assert.equal(a.status, 201, JSON.stringify(a.body));
  assert.equal(a.body.status, 'open');
  assert.equal(a.body.available, before.available - 40);
  const usage = { tokens_in: 1500, tokens_out: 300, runs: 1 };
  const s1 = await settle(a.body.reservationId, usage);
  assert.equal(s1.status, 200, JSON.stringify(s1.body));
  assert.ok(s1.body.creditsCharged > 0);
  assert.equal(s1.body.creditsCharged, s1.body.creditsMetered);
  assert.ok(s1.body.lines.some((l: any) => l.capability === 'prompt_orchestrator' && l.credits === 3), JSON.stringify(s1.body.lines));
  const s2 = await settle(a.body.reservationId, usage);
  assert.equal(s2.status, 200);
  assert.equal(s2.body.ledgerEntryId, s1.body.ledgerEntryId);
  const after = await wallet();
  assert.equal(after.balance, before.balance - s1.body.creditsCharged, 'charged once');
  assert.equal(after.reserved, before.reserved);
});

test('each reservation resolves once: void after settle and settle after void are conflicts', async () => {
  const a = await authorize(10);
  await settle(a.body.reservationId, { tokens_in: 10 });
  const v = await http('POST', `${cp}/billing/void`, { token: gw, body: { reservationId: a.body.reservationId, reason: 'run_failed' } });
  assert.equal(v.status, 409);
  assert.equal(v.body.error.code, 'RESERVATION_ALREADY_RESOLVED');

  const b = await authorize(10);
  const v2 = await http('POST', `${cp}/billing/void`, { token: gw, body: { reservationId: b.body.reservationId, reason: 'run_failed' } });
  assert.equal(v2.status, 200, JSON.stringify(v2.body));
  assert.equal(v2.body.status, 'voided');
  const s = await settle(b.body.reservationId, { tokens_in: 10 });
  assert.equal(s.status, 409);
  assert.equal(s.body.error.code, 'RESERVATION_ALREADY_RESOLVED');
});

test('T4: runs are blocked when available credits are short; T5: a paid top-up unblocks them', async () => {
  const w = await wallet();
  const blocked = await authorize(w.available + 1);
  assert.equal(blocked.status, 403);
  assert.equal(blocked.body.error.code, 'INSUFFICIENT_CREDITS');
  assert.equal(blocked.body.error.details.balance, w.balance);
  assert.equal(blocked.body.error.details.requiredBudget, w.available + 1);

  const provisioner = await stack.serviceToken('provisioner');
  const topup = (key: string, amount: number) =>
    http('POST', `${cp}/wallets/${ws.wallet.id}/topups`, { token: provisioner, headers: { 'idempotency-key': key }, body: { amount, creditType: 'paid', source: 'saleor', reference: key } });
  const t1 = await topup('saleor:order-1:line-1', 500);
  assert.equal(t1.status, 201, JSON.stringify(t1.body));
  const t2 = await topup('saleor:order-1:line-1', 500);
  assert.equal(t2.status, 201);
  assert.equal(t2.headers.get('idempotent-replayed'), 'true');
  assert.equal(t2.body.ledgerEntryId, t1.body.ledgerEntryId);
  const mismatch = await topup('saleor:order-1:line-1', 501);
  assert.equal(mismatch.status, 409);
  assert.equal(mismatch.body.error.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
  const after = await wallet();
  assert.equal(after.paidBalance, w.paidBalance + 500, 'one top-up, paid credits');
  assert.equal((await authorize(w.available + 1)).status, 201);
});

test('the ledger lists grants, debits and top-ups with their credit type; filters apply', async () => {
  const all = await http('GET', `${cp}/wallets/${ws.wallet.id}/ledger?limit=200`, { token: user });
  assert.equal(all.status, 200);
  const kinds = new Set(all.body.items.map((e: any) => `${e.kind}/${e.creditType}`));
  assert.ok(kinds.has('grant/granted') && kinds.has('debit/granted') && kinds.has('topup/paid'), [...kinds].join(','));
  const paid = await http('GET', `${cp}/wallets/${ws.wallet.id}/ledger?creditType=paid`, { token: user });
  assert.ok(paid.body.items.length >= 1 && paid.body.items.every((e: any) => e.creditType === 'paid'));
  const sum = all.body.items.reduce((n: number, e: any) => n + e.amount, 0);
  assert.equal(sum, (await wallet()).balance, 'balance = sum of the ledger');
});

test('a paused instance cannot authorize; users cannot call billing; other tenants see 404', async () => {
  const asUser = await http('POST', `${cp}/billing/authorize`, { token: user, headers: { 'idempotency-key': 'user-tries-authorize' }, body: { instanceId, estimatedBudget: 1, runId: runId() } });
  assert.equal(asUser.status, 403);
  const a = await authorize(5);
  const other = await stack.userToken('nosy@example.com');
  await http('POST', `${cp}/orgs/auto`, { token: other, body: {} });
  for (const path of [`/wallets/${ws.wallet.id}`, `/wallets/${ws.wallet.id}/ledger`, `/billing/reservations/${a.body.reservationId}`]) {
    const r = await http('GET', `${cp}${path}`, { token: other });
    assert.equal(r.status, 404, `${path} → ${r.status}`);
  }
  assert.equal((await http('PATCH', `${cp}/wallets/${ws.wallet.id}`, { token: other, body: { lowBalanceThreshold: 1 } })).status, 404);
  await http('POST', `${cp}/instances/${instanceId}/pause`, { token: user, body: {} });
  const paused = await authorize(5);
  assert.equal(paused.status, 403);
  assert.equal(paused.body.error.code, 'NOT_ENTITLED');
  await http('POST', `${cp}/instances/${instanceId}/resume`, { token: user, body: {} });
});
