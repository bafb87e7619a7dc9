/**
 * The usage journal (src/money/usage-journal.ts, src/gateway/usage-journal.ts) against the
 * Control Plane on PostgreSQL: the gateway's writer records charges straight into the database,
 * the Control Plane applies them. Adversarial: the same charge written many times at once, a
 * write on another holder's or a released quota, a release, a renewal and an expiry racing
 * pending charges, a void racing a charge, the database unreachable. Every money check ends with
 * the wallet invariants and exact balances.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { applyQuotaJournal } from '../../src/money/usage-journal';
import { expireOverdueLocked, lockWallet as lockWalletRow } from '../../src/money/wallets';
import { createUsageJournal, type UsageJournal } from '../../src/gateway/usage-journal';
import { createLogger } from '../../src/platform/logger';
import { AppError } from '../../src/platform/errors';
import { checkInvariants } from '../../test/money/simulation';
import { testDatabaseUrl } from '../../test/support/db';
import { ledger, wallet, type Buyer } from '../../test/support/gateway';
import { fundedBuyer, holdWalletLock, publishQuotaOffering } from '../../test/support/quota-offering';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

const CAPABILITIES = ['prompt_orchestrator', 'credits_wallet', 'api_endpoint'];
const log = createLogger({ level: 'silent' });

describe('the usage journal (PostgreSQL)', { skip: testDatabaseUrl() ? false : 'needs TEST_DATABASE_URL' }, () => {
  let stack: TestStack;
  let cp: string;
  let gw: string;
  let journal: UsageJournal;

  before(async () => {
    stack = await startTestStack(['control-plane'], { SEED_DEMO: '1' });
    cp = stack.url('control-plane');
    gw = await stack.serviceToken('gateway');
    await publishQuotaOffering(stack, 'journal-assistant', [
      { id: 'prompt_orchestrator', v: 1, defaults: { systemPrompt: 'You are a concise support agent.', model: 'builtin:deterministic' } },
      { id: 'credits_wallet', v: 1, defaults: { estimatedBudgetPerRun: 10 } },
      { id: 'api_endpoint', v: 1, defaults: { allowApiKeys: true } },
    ]);
    const url = new URL(testDatabaseUrl()!);
    const schema = (await stack.db!.raw('select current_schema() as s')).rows[0].s as string;
    url.searchParams.set('options', `-c search_path=${schema}`);
    journal = createUsageJournal({ url: url.toString(), log });
  });
  after(async () => {
    await journal?.close();
    await stack?.close();
  });

  let seq = 0;
  const id = (p: string) => `${p}_JRNL${Date.now()}${++seq}x`;
  const admission = { attemptId: 'att_journal_test_1', callerKind: 'api_key' as const, callerSubject: 'key_journal_test' };
  const usage = { tokens_in: 400, tokens_out: 300, api_runs: 1 };
  const holder = 'gw-journal-a';

  async function setup(email: string): Promise<{ who: Buyer; instanceId: string; quotaId: string; ent: { instanceId: string; capabilities: string[] } }> {
    const { who, instanceId } = await fundedBuyer(stack, email, 'journal-assistant');
    const q = await http('POST', `${cp}/billing/quotas`, { token: gw, body: { instanceId, holder, credits: 5_000, validitySeconds: 5 } });
    assert.equal(q.status, 201, JSON.stringify(q.body));
    return { who, instanceId, quotaId: q.body.quotaId, ent: { instanceId, capabilities: CAPABILITIES } };
  }
  const chargeBody = (runId = id('run'), hold = 300) => ({ holder, reservationId: id('res'), runId, hold, usage, admission, startedAt: new Date().toISOString(), run: { status: 'succeeded' as const, output: { text: 'ok' } } });
  const rowsOf = (walletId: string) => stack.db!('usage_journal').where({ wallet_id: walletId }).select('run_id', 'outcome', 'applied_at', 'charged', 'error_code');

  /** Holds the wallet's row lock (the folder skips it; quota changes wait) until `release()`. */
  const holdWallet = async (walletId: string) => {
    const h = await holdWalletLock(stack.db!, walletId);
    return { release: h.release, done: h.holder };
  };

  test('the same charge written ten times at once is one row and one debit; each write answers the same charge', async () => {
    const { who, quotaId, ent } = await setup('journal-dup@example.com');
    const before = await wallet(stack, who);
    const body = chargeBody();
    const answers = await Promise.all(Array.from({ length: 10 }, () => journal.charge(quotaId, ent, body)));
    for (const a of answers) {
      assert.equal(a.creditsCharged, answers[0]!.creditsCharged);
      assert.equal(a.ledgerEntryId, null, 'no ledger entry until it is applied');
    }
    assert.ok(answers[0]!.creditsCharged > 0 && answers[0]!.creditsCharged <= body.hold);
    assert.equal((await rowsOf(who.walletId)).length, 1);
    const after = await wallet(stack, who);
    assert.equal(after.balance, before.balance - answers[0]!.creditsCharged, 'charged once');
    const debits = (await ledger(stack, who)).filter((e) => e.kind === 'debit' && e.runId === body.runId);
    assert.equal(debits.length, 1);
    const record = await http('GET', `${cp}/runs/${body.runId}`, { token: who.token });
    assert.equal(record.status, 200, JSON.stringify(record.body));
    assert.equal(record.body.billing.ledgerEntryId, debits[0]!.id);
    assert.deepEqual(await checkInvariants(stack.db!), []);
  });

  test('a write on another holder\'s quota, another org\'s quota or a released quota is refused and records nothing', async () => {
    const a = await setup('journal-holder-a@example.com');
    const b = await setup('journal-holder-b@example.com');
    const refused = async (p: Promise<unknown>) => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof AppError, String(err));
      assert.equal(err.code, 'RESERVATION_EXPIRED');
    };
    await refused(journal.charge(a.quotaId, a.ent, { ...chargeBody(), holder: 'gw-someone-else' }));
    // B's quota for A's instance (another org's quota id): refused.
    await refused(journal.charge(b.quotaId, a.ent, chargeBody()));
    assert.equal((await rowsOf(b.who.walletId)).length, 0);
    const released = await http('POST', `${cp}/billing/quotas/${a.quotaId}/release`, { token: gw, body: { holder } });
    assert.equal(released.status, 200, JSON.stringify(released.body));
    await refused(journal.charge(a.quotaId, a.ent, chargeBody()));
    assert.equal((await rowsOf(a.who.walletId)).length, 0);
    assert.equal((await wallet(stack, a.who)).reserved, 0);
    assert.deepEqual(await checkInvariants(stack.db!), []);
  });

  test('a release waiting on the wallet applies the quota\'s pending charges before it gives back what is left', async () => {
    const { who, quotaId, ent } = await setup('journal-release@example.com');
    const before = await wallet(stack, who);
    const held = await holdWallet(who.walletId);
    const answers = await Promise.all([0, 1, 2].map(() => journal.charge(quotaId, ent, chargeBody())));
    const pending = await rowsOf(who.walletId);
    assert.equal(pending.length, 3);
    assert.ok(pending.every((r) => r.applied_at === null), 'the folder skips a held wallet');
    const release = http('POST', `${cp}/billing/quotas/${quotaId}/release`, { token: gw, body: { holder } });
    await new Promise((r) => setTimeout(r, 150));
    held.release();
    await held.done;
    const r = await release;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const charged = answers.reduce((n, a) => n + a.creditsCharged, 0);
    assert.ok((await rowsOf(who.walletId)).every((x) => x.outcome === 'charged'));
    const after = await wallet(stack, who);
    assert.equal(after.balance, before.balance - charged, 'every journaled charge debited');
    assert.equal(after.reserved, 0, 'the rest went back');
    assert.equal(r.body.amount + charged, 5_000 - 0, 'what was released is the quota less its charges');
    assert.deepEqual(await checkInvariants(stack.db!), []);
  });

  test('a renewal applies pending charges first: the quota is resized from what is left after them', async () => {
    const { who, quotaId, ent } = await setup('journal-renew@example.com');
    const held = await holdWallet(who.walletId);
    const answers = await Promise.all([0, 1, 2, 3].map(() => journal.charge(quotaId, ent, chargeBody())));
    const charged = answers.reduce((n, a) => n + a.creditsCharged, 0);
    const renew = http('POST', `${cp}/billing/quotas/${quotaId}/renew`, { token: gw, body: { holder, credits: 1_000, validitySeconds: 5 } });
    await new Promise((r) => setTimeout(r, 150));
    held.release();
    await held.done;
    const r = await renew;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.amount, 1_000);
    assert.equal(r.body.added, 1_000 - (5_000 - charged), 'added counts from the quota after its charges');
    const after = await wallet(stack, who);
    assert.equal(after.reserved, 1_000);
    assert.deepEqual(await checkInvariants(stack.db!), []);
  });

  test('a quota with pending charges does not expire until they are applied; then it does', async () => {
    const { who, quotaId, ent } = await setup('journal-expiry@example.com');
    const before = await wallet(stack, who);
    const held = await holdWallet(who.walletId);
    const a = await journal.charge(quotaId, ent, chargeBody());
    held.release();
    await held.done;
    const later = new Date(Date.now() + 3_600_000);
    await stack.db!.transaction(async (trx) => {
      await lockWalletRow(trx, who.walletId);
      // The folder may have applied it meanwhile; hold it pending here to prove the guard when not.
      const pending = await trx('usage_journal').where({ quota_id: quotaId }).whereNull('applied_at').count<{ count: string }[]>('* as count');
      const swept = await expireOverdueLocked(trx, who.walletId, later);
      const quota = await trx('reservations').where({ id: quotaId }).first();
      if (Number(pending[0]!.count) > 0) {
        assert.equal(swept.count, 0, 'not expired while a charge is pending');
        assert.equal(quota.status, 'open');
        await applyQuotaJournal(stack.db!, trx, quotaId);
        const again = await expireOverdueLocked(trx, who.walletId, later);
        assert.equal(again.count, 1);
      } else assert.equal(swept.count, 1);
      assert.equal((await trx('reservations').where({ id: quotaId }).first()).status, 'expired');
    });
    const after = await wallet(stack, who);
    assert.equal(after.balance, before.balance - a.creditsCharged);
    assert.equal(after.reserved, 0);
    assert.deepEqual(await checkInvariants(stack.db!), []);
  });

  test('a run recorded uncharged is never charged from the journal; a journaled run cannot be recorded uncharged', async () => {
    const { who, quotaId, ent } = await setup('journal-void@example.com');
    const before = await wallet(stack, who);
    const failure = { status: 'failed', error: { status: 502, code: 'RUNTIME_ERROR', message: 'runner failed' } };
    // Voided first (the gateway gave up on its write), then an attempt of that write commits late.
    const voidedRun = id('run');
    assert.equal((await http('POST', `${cp}/billing/quotas/${quotaId}/voids`, { token: gw, body: { holder, runId: voidedRun, admission, run: failure } })).status, 200);
    await journal.charge(quotaId, ent, chargeBody(voidedRun));
    await wallet(stack, who); // applies it: refused
    const [row] = (await rowsOf(who.walletId)).filter((r) => r.run_id === voidedRun);
    assert.equal(row!.outcome, 'refused');
    assert.equal(row!.error_code, 'RESERVATION_ALREADY_RESOLVED');
    const retry = await journal.charge(quotaId, ent, chargeBody(voidedRun)).then(() => undefined, (e: unknown) => e);
    assert.ok(retry instanceof AppError && retry.code === 'RESERVATION_ALREADY_RESOLVED', String(retry));
    // Journaled first: its void is refused (the charge stands).
    const held = await holdWallet(who.walletId);
    const charged = await journal.charge(quotaId, ent, chargeBody());
    const chargedRunId = (await rowsOf(who.walletId)).find((r) => r.run_id !== voidedRun)!.run_id;
    held.release();
    await held.done;
    const v = await http('POST', `${cp}/billing/quotas/${quotaId}/voids`, { token: gw, body: { holder, runId: chargedRunId, admission, run: failure } });
    assert.equal(v.status, 409, JSON.stringify(v.body));
    assert.equal(v.body.error.code, 'RESERVATION_ALREADY_RESOLVED');
    const after = await wallet(stack, who);
    assert.equal(after.balance, before.balance - charged.creditsCharged, 'only the journaled run is charged');
    assert.equal((await ledger(stack, who)).filter((e) => e.kind === 'debit').length, 1);
    assert.deepEqual(await checkInvariants(stack.db!), []);
  });

  test('connections killed under load (pg_terminate_backend): no charge lost or doubled; an unanswered one is charged or voided, never both', async () => {
    const { who, quotaId, ent } = await setup('journal-kill@example.com');
    const before = await wallet(stack, who);
    const bodies = Array.from({ length: 120 }, () => chargeBody(id('run'), 20));
    let killing = true;
    const killer = (async () => {
      let kills = 0;
      while (killing) {
        // The writer's connections and the Control Plane's (the folder, the reads) alike.
        // (This loop shares the Control Plane's pool: a connection it killed may come back to it dead.)
        const r = await stack.db!.raw(`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
           where application_name in ('gateway-usage-journal', current_setting('application_name')) and state <> 'idle' and pid <> pg_backend_pid()`).catch(() => undefined);
        kills += r?.rows[0].n ?? 0;
        await new Promise((res) => setTimeout(res, 7));
      }
      return kills;
    })();
    const outcomes = await Promise.all(bodies.map(async (b, i) => {
      await new Promise((res) => setTimeout(res, i % 30));
      return journal.charge(quotaId, ent, b).then((s) => ({ ok: true as const, charged: s.creditsCharged }), (err: unknown) => ({ ok: false as const, err }));
    }));
    killing = false;
    const kills = await killer;
    assert.ok(kills > 0, 'connections were killed under load');
    // What the gateway does with an unanswered charge: record the run uncharged — refused when its row did commit.
    let expected = 0;
    const charged = new Set<string>();
    for (const [i, o] of outcomes.entries()) {
      const b = bodies[i]!;
      if (o.ok) {
        expected += o.charged;
        charged.add(b.runId);
        continue;
      }
      assert.ok(o.err instanceof AppError && o.err.status === 503, String(o.err));
      const v = await http('POST', `${cp}/billing/quotas/${quotaId}/voids`, { token: gw, body: { holder, runId: b.runId, admission, run: { status: 'failed', error: { status: 503, code: 'DEPENDENCY_UNAVAILABLE', message: 'journal' } } } });
      if (v.status === 409) {
        const again = await journal.charge(quotaId, ent, b);
        expected += again.creditsCharged;
        charged.add(b.runId);
      } else assert.equal(v.status, 200, JSON.stringify(v.body));
    }
    const after = await wallet(stack, who);
    assert.equal(after.balance, before.balance - expected, `exact after ${kills} killed connections and ${outcomes.filter((o) => !o.ok).length} unanswered writes`);
    const debits = (await ledger(stack, who)).filter((e) => e.kind === 'debit');
    assert.equal(debits.length, charged.size, 'one debit per charged run');
    assert.deepEqual(new Set(debits.map((d) => d.runId)), charged);
    assert.deepEqual(await checkInvariants(stack.db!), []);
  });

  test('the database unreachable: the write answers 503 after its attempts, and nothing is recorded', async () => {
    const dead = createUsageJournal({ url: 'postgres://postgres@127.0.0.1:1/test', log, attempts: 2, timeoutMs: 500, sleep: async () => {} });
    try {
      const err = await dead.charge('res_none', { instanceId: 'inst_x', capabilities: CAPABILITIES }, chargeBody()).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof AppError, String(err));
      assert.equal(err.code, 'DEPENDENCY_UNAVAILABLE');
      assert.equal(err.status, 503);
    } finally {
      await dead.close();
    }
  });
});
