/**
 * Credit quotas over HTTP (src/money/quotas.ts): grants never exceed what is available, even
 * concurrently; a run charged against a quota debits min(metered, hold) once (retries replay,
 * other charges conflict), shrinks the quota and records the run; a run recorded uncharged is
 * never charged; a renewal re-checks the instance (a paused one's quota is released); an expired
 * quota releases its credits and refuses charges; only the gateway, and only the quota's holder,
 * may use it. Every money check ends with the wallet's invariants (test/money/simulation.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkInvariants } from '../../test/money/simulation';
import { ledger, wallet } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';
import { expireReservations } from '../../src/money/billing';
import { quotaCharges } from '../../src/money/quota-charges';
import { testDatabaseUrl } from '../../test/support/db';
import { fundedBuyer, holdWalletLock, publishQuotaOffering } from '../../test/support/quota-offering';

let stack: TestStack;
let cp: string;
let gw: string;

before(async () => {
  stack = await startTestStack(['control-plane'], { SEED_DEMO: '1' });
  cp = stack.url('control-plane');
  gw = await stack.serviceToken('gateway');
  // The demo flow on a plan without a daily run limit (instances with one are admitted run by run).
  await publishQuotaOffering(stack, 'quota-assistant', [
    { id: 'prompt_orchestrator', v: 1, defaults: { systemPrompt: 'You are a concise support agent.', model: 'builtin:deterministic' } },
    { id: 'credits_wallet', v: 1, defaults: { estimatedBudgetPerRun: 10 } },
    { id: 'api_endpoint', v: 1, defaults: { allowApiKeys: true } },
  ]);
});
after(async () => stack?.close());

let seq = 0;
const runId = () => `run_QUOTA${Date.now()}${++seq}x`;
const resId = () => `res_QUOTA${Date.now()}${++seq}x`;
const admission = { attemptId: 'att_quota_test_1', callerKind: 'api_key', callerSubject: 'key_quota_test' };

const grant = (instanceId: string, credits: number, holder = 'gw-test-a', token = gw) =>
  http('POST', `${cp}/billing/quotas`, { token, body: { instanceId, holder, credits, validitySeconds: 5 } });
const charge = (quotaId: string, body: Record<string, unknown>, holder = 'gw-test-a') =>
  http('POST', `${cp}/billing/quotas/${quotaId}/charges`, { token: gw, body: { holder, admission, run: { status: 'succeeded', output: { text: 'ok' } }, ...body } });
const usage = { tokens_in: 400, tokens_out: 300, api_runs: 1 };

const funded = (email: string, credits = 100_000) => fundedBuyer(stack, email, 'quota-assistant', credits);

test('a grant takes at most half of what is available, held on the wallet; concurrent grants never exceed the balance', async () => {
  const { who, instanceId } = await funded('quota-grant@example.com');
  const before = await wallet(stack, who);
  const first = await grant(instanceId, 5_000);
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.equal(first.body.amount, 5_000);
  assert.equal(first.body.added, 5_000);
  assert.equal(first.body.status, 'open');
  assert.ok(first.body.limits.maxCreditsPerRun >= 1);
  assert.ok(new Date(first.body.expiresAt).getTime() - new Date(first.body.useUntil).getTime() >= 119_000, 'the hold outlives the validity by the longest run');
  const held = await wallet(stack, who);
  assert.equal(held.reserved, before.reserved + 5_000);
  assert.equal(held.balance, before.balance, 'a grant debits nothing');

  // 12 replicas ask at once for more than there is: each gets at most half of what was left.
  const asks = await Promise.all(Array.from({ length: 12 }, (_, i) => grant(instanceId, 1_000_000, `gw-race-${i}`)));
  const granted = asks.filter((a) => a.status === 201).map((a) => a.body.amount as number);
  for (const a of asks) assert.ok(a.status === 201 || (a.status === 403 && a.body.error.code === 'INSUFFICIENT_CREDITS'), JSON.stringify(a.body));
  const after = await wallet(stack, who);
  assert.equal(after.reserved, held.reserved + granted.reduce((n, x) => n + x, 0));
  assert.ok(after.reserved <= after.balance, 'never more held than the balance');
  assert.ok(after.available > 0, 'half of what is available always stays for run-by-run admission');
  assert.deepEqual(await checkInvariants(stack.db!), []);
});

test('a run charged against a quota: min(metered, hold) debited once, the quota shrinks, retries replay, other charges conflict', async () => {
  const { who, instanceId } = await funded('quota-charge@example.com');
  const q = (await grant(instanceId, 4_000)).body;
  const before = await wallet(stack, who);
  const run = runId();
  const reservationId = resId();
  const first = await charge(q.quotaId, { reservationId, runId: run, hold: 500, usage });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.reservationId, reservationId);
  assert.ok(first.body.creditsCharged > 0 && first.body.creditsCharged <= 500);
  assert.equal(first.body.creditsCharged, first.body.creditsMetered);
  const again = await charge(q.quotaId, { reservationId, runId: run, hold: 500, usage });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.ledgerEntryId, first.body.ledgerEntryId, 'a retry replays the first answer');
  const other = await charge(q.quotaId, { reservationId: resId(), runId: run, hold: 500, usage: { ...usage, tokens_out: 9_000 } });
  assert.equal(other.status, 409, JSON.stringify(other.body));
  assert.equal(other.body.error.code, 'RESERVATION_ALREADY_RESOLVED');

  const after = await wallet(stack, who);
  assert.equal(after.balance, before.balance - first.body.creditsCharged, 'charged once');
  assert.equal(after.reserved, before.reserved - first.body.creditsCharged, 'the quota shrank by the charge');
  assert.equal((await ledger(stack, who)).filter((e) => e.runId === run).length, 1, 'one debit');
  const record = await http('GET', `${cp}/runs/${run}`, { token: who.token });
  assert.equal(record.status, 200, JSON.stringify(record.body));
  assert.equal(record.body.status, 'succeeded');
  assert.equal(record.body.billing.creditsCharged, first.body.creditsCharged);

  // The usage costs more than the hold: the charge stops at the hold.
  const capped = await charge(q.quotaId, { reservationId: resId(), runId: runId(), hold: 3, usage: { tokens_in: 50_000, tokens_out: 50_000, api_runs: 1 } });
  assert.equal(capped.status, 200, JSON.stringify(capped.body));
  assert.equal(capped.body.creditsCharged, 3);
  assert.equal(capped.body.overage, true);

  // A hold larger than what is left of the quota is refused, nothing charged.
  const big = await charge(q.quotaId, { reservationId: resId(), runId: runId(), hold: 10_000, usage });
  assert.equal(big.status, 403, JSON.stringify(big.body));
  assert.equal(big.body.error.code, 'INSUFFICIENT_CREDITS');
  assert.deepEqual(await checkInvariants(stack.db!), []);
});

test('concurrent charges of many runs on one quota: each charged exactly once, the quota and wallet agree', async () => {
  const { who, instanceId } = await funded('quota-many@example.com');
  const q = (await grant(instanceId, 20_000)).body;
  const before = await wallet(stack, who);
  const runs = Array.from({ length: 40 }, () => ({ runId: runId(), reservationId: resId() }));
  // Every run is sent twice at once (a retry racing its first attempt).
  const answers = await Promise.all(runs.flatMap((r) => [charge(q.quotaId, { ...r, hold: 300, usage }), charge(q.quotaId, { ...r, hold: 300, usage })]));
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  const charged = runs.reduce((n, _, i) => n + answers[2 * i]!.body.creditsCharged, 0);
  for (let i = 0; i < runs.length; i++) assert.equal(answers[2 * i]!.body.ledgerEntryId, answers[2 * i + 1]!.body.ledgerEntryId);
  const after = await wallet(stack, who);
  assert.equal(after.balance, before.balance - charged);
  assert.equal(after.reserved, before.reserved - charged);
  const debits = (await ledger(stack, who)).filter((e) => runs.some((r) => r.runId === e.runId));
  assert.equal(debits.length, runs.length, 'one debit per run');
  assert.deepEqual(await checkInvariants(stack.db!), []);
});

test('charges of many wallets at once share transactions (the combiner): each run charged once, a voided run refused alone', async () => {
  const buyers = await Promise.all([0, 1, 2, 3].map((i) => funded(`quota-combined-${i}@example.com`)));
  const quotas = await Promise.all(buyers.map(async (b) => (await grant(b.instanceId, 10_000)).body));
  const before = await Promise.all(buyers.map((b) => wallet(stack, b.who)));
  // One run of wallet 0 was recorded uncharged first: its charge, sent among the others, is refused alone.
  const voided = runId();
  const failure = { status: 'failed', error: { status: 502, code: 'RUNTIME_ERROR', message: 'the runtime failed' } };
  assert.equal((await http('POST', `${cp}/billing/quotas/${quotas[0]!.quotaId}/voids`, { token: gw, body: { holder: 'gw-test-a', runId: voided, admission, run: failure } })).status, 200);
  const stats = { ...quotaCharges.stats };
  const runs = quotas.flatMap((q, w) => Array.from({ length: 12 }, () => ({ w, quotaId: q.quotaId as string, runId: runId(), reservationId: resId() })));
  const answers = await Promise.all([
    ...runs.map((r) => charge(r.quotaId, { runId: r.runId, reservationId: r.reservationId, hold: 300, usage })),
    charge(quotas[0]!.quotaId, { runId: voided, reservationId: resId(), hold: 300, usage }),
  ]);
  const refused = answers.pop()!;
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'RESERVATION_ALREADY_RESOLVED');
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  const transactions = quotaCharges.stats.transactions - stats.transactions;
  const combined = quotaCharges.stats.charges - stats.charges;
  assert.ok(combined >= runs.length, `every charge went through the combiner (${combined})`);
  // On PostgreSQL, requests reach the combiner together (PGlite's one connection serialises them before it).
  if (testDatabaseUrl()) assert.ok(transactions < combined, `charges shared transactions: ${combined} charges in ${transactions} transactions`);
  for (const [w, b] of buyers.entries()) {
    const mine = runs.filter((r) => r.w === w);
    const charged = mine.reduce((n, r) => n + answers[runs.indexOf(r)]!.body.creditsCharged, 0);
    const after = await wallet(stack, b.who);
    assert.equal(after.balance, before[w]!.balance - charged, `wallet ${w}: balance drop = charged`);
    const debits = (await ledger(stack, b.who)).filter((e) => mine.some((r) => r.runId === e.runId));
    assert.equal(debits.length, mine.length, `wallet ${w}: one debit per run`);
  }
  assert.deepEqual(await checkInvariants(stack.db!), []);
});

const lockWallet = (walletId: string) => holdWalletLock(stack.db!, walletId);

// A second transaction holding a wallet needs a server with many connections (PGlite has one).
test('a wallet held by another transaction: its charge waits alone; the other wallets\' charges do not wait for it', { skip: testDatabaseUrl() ? false : 'needs TEST_DATABASE_URL' }, async () => {
  const [held, free] = await Promise.all([funded('quota-held@example.com'), funded('quota-free@example.com')]);
  const [qh, qf] = await Promise.all([grant(held.instanceId, 5_000), grant(free.instanceId, 5_000)]).then((r) => r.map((x) => x.body));
  const fallbacks = quotaCharges.stats.fallbacks;
  const { release, holder } = await lockWallet(held.who.walletId);
  const t0 = Date.now();
  const heldCharge = charge(qh.quotaId, { runId: runId(), reservationId: resId(), hold: 300, usage }).then((a) => ({ a, at: Date.now() - t0 }));
  const freeCharge = await charge(qf.quotaId, { runId: runId(), reservationId: resId(), hold: 300, usage });
  const freeAt = Date.now() - t0;
  assert.equal(freeCharge.status, 200, JSON.stringify(freeCharge.body));
  await new Promise((r) => setTimeout(r, 300));
  release();
  await holder;
  const h = await heldCharge;
  assert.equal(h.a.status, 200, JSON.stringify(h.a.body));
  assert.ok(freeAt < 300, `the free wallet's charge did not wait for the held one (${freeAt} ms)`);
  assert.ok(h.at >= 300, `the held wallet's charge waited for its lock (${h.at} ms)`);
  assert.ok(quotaCharges.stats.fallbacks > fallbacks, 'the held wallet\'s charge was made alone');
  assert.deepEqual(await checkInvariants(stack.db!), []);
});

test('a wallet held for a moment (a renewal): its charge goes in a later combined transaction, not alone', { skip: testDatabaseUrl() ? false : 'needs TEST_DATABASE_URL' }, async () => {
  const held = await funded('quota-brief@example.com');
  const q = (await grant(held.instanceId, 5_000)).body;
  const { fallbacks, skipped } = quotaCharges.stats;
  const { release, holder } = await lockWallet(held.who.walletId);
  const before = await wallet(stack, held.who);
  const pending = charge(q.quotaId, { runId: runId(), reservationId: resId(), hold: 300, usage });
  // The lock goes as soon as a combined transaction has found it held.
  for (let i = 0; i < 500 && quotaCharges.stats.skipped === skipped; i++) await new Promise((r) => setTimeout(r, 1));
  release();
  await holder;
  const a = await pending;
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.ok(quotaCharges.stats.skipped > skipped, 'a combined transaction found the wallet locked');
  assert.equal(quotaCharges.stats.fallbacks, fallbacks, 'and the charge was not made alone');
  assert.equal((await wallet(stack, held.who)).balance, before.balance - a.body.creditsCharged);
  assert.deepEqual(await checkInvariants(stack.db!), []);
});

test('a run recorded uncharged is never charged; a charged run cannot be recorded uncharged', async () => {
  const { instanceId } = await funded('quota-void@example.com');
  const q = (await grant(instanceId, 4_000)).body;
  const failed = runId();
  const failure = { status: 'failed', error: { status: 502, code: 'RUNTIME_ERROR', message: 'the runtime failed' } };
  const v = await http('POST', `${cp}/billing/quotas/${q.quotaId}/voids`, { token: gw, body: { holder: 'gw-test-a', runId: failed, admission, run: failure } });
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.deepEqual([v.body.status, v.body.creditsCharged, v.body.replayed], ['failed', 0, false]);
  const late = await charge(q.quotaId, { reservationId: resId(), runId: failed, hold: 100, usage });
  assert.equal(late.status, 409, JSON.stringify(late.body));
  assert.equal(late.body.error.code, 'RESERVATION_ALREADY_RESOLVED');

  const ok = runId();
  assert.equal((await charge(q.quotaId, { reservationId: resId(), runId: ok, hold: 100, usage })).status, 200);
  const v2 = await http('POST', `${cp}/billing/quotas/${q.quotaId}/voids`, { token: gw, body: { holder: 'gw-test-a', runId: ok, admission, run: failure } });
  assert.equal(v2.status, 409, JSON.stringify(v2.body));
  assert.equal(v2.body.error.code, 'RESERVATION_ALREADY_RESOLVED');
  assert.deepEqual(await checkInvariants(stack.db!), []);
});

test('a renewal resizes and extends; a paused instance\'s quota is released at its renewal', async () => {
  const { who, instanceId } = await funded('quota-renew@example.com');
  const q = (await grant(instanceId, 3_000)).body;
  const bigger = await http('POST', `${cp}/billing/quotas/${q.quotaId}/renew`, { token: gw, body: { holder: 'gw-test-a', credits: 6_000, validitySeconds: 10 } });
  assert.equal(bigger.status, 200, JSON.stringify(bigger.body));
  assert.deepEqual([bigger.body.amount, bigger.body.added], [6_000, 3_000]);
  assert.ok(new Date(bigger.body.useUntil) > new Date(q.useUntil));
  const smaller = await http('POST', `${cp}/billing/quotas/${q.quotaId}/renew`, { token: gw, body: { holder: 'gw-test-a', credits: 1_000 } });
  assert.deepEqual([smaller.body.amount, smaller.body.added], [1_000, -5_000]);
  const stranger = await http('POST', `${cp}/billing/quotas/${q.quotaId}/renew`, { token: gw, body: { holder: 'gw-test-b', credits: 1_000 } });
  assert.equal(stranger.status, 404, 'only the holder renews its quota');

  const before = await wallet(stack, who);
  const paused = await http('POST', `${cp}/instances/${instanceId}/pause`, { token: who.token, body: { reason: 'quota test' } });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  const refused = await http('POST', `${cp}/billing/quotas/${q.quotaId}/renew`, { token: gw, body: { holder: 'gw-test-a', credits: 1_000 } });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'NOT_ENTITLED');
  const after = await wallet(stack, who);
  assert.equal(after.reserved, before.reserved - 1_000, 'the paused instance\'s quota went back to the wallet');
  assert.equal((await grant(instanceId, 1_000)).status, 403, 'no new quota for a paused instance');
  assert.deepEqual(await checkInvariants(stack.db!), []);
});

test('an expired quota releases its credits and refuses charges; a released one too', async () => {
  const { who, instanceId } = await funded('quota-expiry@example.com');
  const before = await wallet(stack, who);
  const q = (await grant(instanceId, 2_000)).body;
  // Time passes beyond its hold (nobody renewed it: the holder crashed).
  await stack.db!('reservations').where({ id: q.quotaId }).update({ expires_at: new Date(Date.now() - 1000) });
  const swept = await expireReservations(stack.db!);
  assert.ok(swept.expired >= 1);
  assert.deepEqual(await wallet(stack, who), before, 'the expired quota\'s credits are available again');
  const late = await charge(q.quotaId, { reservationId: resId(), runId: runId(), hold: 100, usage });
  assert.equal(late.status, 409, JSON.stringify(late.body));
  assert.equal(late.body.error.code, 'RESERVATION_EXPIRED');

  const r = (await grant(instanceId, 2_000)).body;
  const released = await http('POST', `${cp}/billing/quotas/${r.quotaId}/release`, { token: gw, body: { holder: 'gw-test-a' } });
  assert.equal(released.status, 200, JSON.stringify(released.body));
  assert.deepEqual([released.body.status, released.body.added], ['voided', -2_000]);
  assert.deepEqual(await wallet(stack, who), before);
  const after = await charge(r.quotaId, { reservationId: resId(), runId: runId(), hold: 100, usage });
  assert.equal(after.body.error.code, 'RESERVATION_ALREADY_RESOLVED');
  assert.deepEqual(await checkInvariants(stack.db!), []);
});

test('only the gateway grants quotas', async () => {
  const { who, instanceId } = await funded('quota-authz@example.com');
  const denied = await grant(instanceId, 1_000, 'gw-test-a', who.token);
  assert.equal(denied.status, 403, JSON.stringify(denied.body));
});
