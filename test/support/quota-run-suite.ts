/**
 * The credit-quota run suite, run twice: charged over HTTP (credit-quota-runs.http.test.ts) and
 * recorded in the usage journal (credit-quota-runs-journal.http.test.ts, PostgreSQL).
 *
 * Runs admitted against the gateway's credit quota (src/gateway/quotas.ts) over HTTP, on an
 * instance without a daily run limit: after the first run (admitted the ordinary way while the
 * quota is granted) runs take their hold from the quota — no authorize — and are charged before
 * their answers, exactly once each, concurrently too; the wallet drops by exactly what the answers
 * say; a pause stops the instance's runs at once (its quota released); the stack's drain gives the
 * quotas back. Every money check ends with the wallet invariants.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkInvariants } from '../money/simulation';
import { ledger, run, wallet, waitFor } from './gateway';
import { fundedBuyer, publishQuotaOffering } from './quota-offering';
import { testDatabaseUrl } from './db';
import { http, startTestStack, type TestStack } from './stack';

export function quotaRunSuite(name: string, o: { usageJournal: boolean }): void {
  describe(name, { skip: o.usageJournal && !testDatabaseUrl() ? 'needs TEST_DATABASE_URL' : false }, () => {
    let stack: TestStack;
    let cp: string;

    before(async () => {
      stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', GATEWAY_QUOTA_RUNS: '16', GATEWAY_QUOTA_VALIDITY_SECONDS: '2' }, { usageJournal: o.usageJournal });
      cp = stack.url('control-plane');
      await publishQuotaOffering(stack, 'quota-runs', [
        { id: 'prompt_orchestrator', v: 1, defaults: { systemPrompt: 'You are a concise support agent.', model: 'builtin:deterministic' } },
        { id: 'credits_wallet', v: 1, defaults: { estimatedBudgetPerRun: 10, maxCreditsPerRun: 100 } },
      ]);
    });
    after(async () => stack?.close());

    const funded = (email: string) => fundedBuyer(stack, email, 'quota-runs');

    const openQuotas = async (walletId: string) => (await stack.db!('reservations').where({ wallet_id: walletId, kind: 'quota', status: 'open' }).select('id', 'amount', 'holder'));

    test('runs after the first take their hold from the quota, and each is charged exactly once before its answer', async () => {
      const { who, instanceId } = await funded('quota-runs@example.com');
      const before = await wallet(stack, who);
      const answers = [];
      for (let i = 0; i < 3; i++) {
        const r = await run(stack, { token: who.token, instanceId, text: `Return policy? ${i}` });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        answers.push(r.body);
      }
      await waitFor('a quota granted', async () => ((await openQuotas(who.walletId)).length ? true : undefined), 10_000);
      // Concurrent runs on the quota (each one's retry-free charge is its only money call).
      const burst = await Promise.all(Array.from({ length: 24 }, (_, i) => run(stack, { token: who.token, instanceId, text: `Can I return item ${i}?` })));
      for (const r of burst) assert.equal(r.status, 200, JSON.stringify(r.body));
      answers.push(...burst.map((r) => r.body));

      const charged = answers.reduce((n, a) => n + a.billing.creditsCharged, 0);
      // Read first: the wallet's read applies any charge still in the usage journal.
      const after = await wallet(stack, who);
      const quotas = await openQuotas(who.walletId);
      assert.equal(quotas.length, 1, 'one quota per instance on this replica');
      const held = quotas.reduce((n, q) => n + Number(q.amount), 0);
      assert.equal(after.balance, before.balance - charged, 'the balance drops by exactly what the answers charged');
      assert.equal(after.reserved, held, 'only the quota is held');
      const onQuota = await stack.db!('reservations').whereIn('run_id', answers.map((a) => a.runId)).whereNull('holder').select('run_id', 'status', 'charged', 'id');
      assert.equal(onQuota.length, answers.length, 'every run has its own reservation');
      for (const a of answers) {
        const r = onQuota.find((x) => x.run_id === a.runId)!;
        assert.equal(r.status, 'settled');
        assert.equal(r.id, a.billing.reservationId);
        assert.equal(Number(r.charged), a.billing.creditsCharged);
      }
      const debits = (await ledger(stack, who)).filter((e) => e.kind === 'debit');
      assert.equal(debits.length, answers.length, 'one debit per run');
      const journal = await stack.db!('usage_journal').where({ wallet_id: who.walletId }).select('run_id', 'outcome', 'charged');
      if (o.usageJournal) {
        // The quota runs were answered from their journal rows (no ledger entry yet), each applied once.
        const journaled = answers.filter((a) => a.billing.ledgerEntryId === null);
        assert.ok(journaled.length >= burst.length, `${journaled.length} runs answered from the journal`);
        assert.deepEqual(journal.map((j) => j.run_id).sort(), journaled.map((a) => a.runId).sort());
        for (const j of journal) {
          assert.equal(j.outcome, 'charged');
          assert.equal(Number(j.charged), answers.find((a) => a.runId === j.run_id)!.billing.creditsCharged);
          assert.ok(debits.some((d) => d.runId === j.run_id), 'its debit is in the ledger');
        }
      } else assert.equal(journal.length, 0, 'nothing journaled over HTTP');
      const record = await http('GET', `${cp}/runs/${answers.at(-1)!.runId}`, { token: who.token });
      assert.equal(record.status, 200, JSON.stringify(record.body));
      assert.equal(record.body.status, 'succeeded');
      assert.equal(record.body.billing.creditsCharged, answers.at(-1)!.billing.creditsCharged);
      assert.ok(record.body.billing.ledgerEntryId, 'the record has its ledger entry');
      assert.deepEqual(await checkInvariants(stack.db!), []);
    });

    test('a quota run that takes the wallet below its low-balance threshold notifies the org once, as a settle does', async () => {
      const { who, instanceId } = await funded('quota-low@example.com');
      const put = await http('PUT', `${cp}/orgs/${who.orgId}/notification-endpoint`, { token: who.token, body: { email: 'billing-quota-low@example.com' } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal((await run(stack, { token: who.token, instanceId, text: 'Return policy?' })).status, 200);
      await waitFor('a quota granted', async () => ((await openQuotas(who.walletId)).length ? true : undefined), 10_000);
      const threshold = (await wallet(stack, who)).balance - 3;
      const patched = await http('PATCH', `${cp}/wallets/${who.walletId}`, { token: who.token, body: { lowBalanceThreshold: threshold } });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const heldBefore = (await openQuotas(who.walletId))[0]!;
      for (let i = 0; i < 8; i++) assert.equal((await run(stack, { token: who.token, instanceId, text: `Can I return item ${i}?` })).status, 200);
      await wallet(stack, who);
      const heldAfter = (await openQuotas(who.walletId)).find((q) => q.id === heldBefore.id);
      assert.ok(heldAfter && Number(heldAfter.amount) < Number(heldBefore.amount), 'the runs were charged on the quota');
      assert.ok((await wallet(stack, who)).balance < threshold);
      const notices = (await http('GET', `${cp}/orgs/${who.orgId}/notifications`, { token: who.token })).body.items.filter((n: any) => n.kind === 'wallet.low_balance');
      assert.equal(notices.length, 1, JSON.stringify(notices));
      assert.equal(notices[0].data.threshold, threshold);
      assert.equal(notices[0].data.cause, 'settle');
    });

    test('a paused instance stops running at once, and its quota goes back to the wallet', async () => {
      const { who, instanceId } = await funded('quota-pause@example.com');
      for (let i = 0; i < 3; i++) assert.equal((await run(stack, { token: who.token, instanceId })).status, 200);
      await waitFor('a quota granted', async () => ((await openQuotas(who.walletId)).length ? true : undefined), 10_000);
      assert.equal((await run(stack, { token: who.token, instanceId })).status, 200);
      const paused = await http('POST', `${cp}/instances/${instanceId}/pause`, { token: who.token, body: { reason: 'quota test' } });
      assert.equal(paused.status, 200, JSON.stringify(paused.body));
      const refused = await run(stack, { token: who.token, instanceId });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'NOT_ENTITLED');
      await waitFor('the quota released', async () => ((await openQuotas(who.walletId)).length === 0 ? true : undefined), 10_000);
      assert.equal((await wallet(stack, who)).reserved, 0);
      assert.deepEqual(await checkInvariants(stack.db!), []);
    });

    test('the stack\'s drain gives every quota back', async () => {
      const { who, instanceId } = await funded('quota-drain@example.com');
      for (let i = 0; i < 3; i++) assert.equal((await run(stack, { token: who.token, instanceId })).status, 200);
      await waitFor('a quota granted', async () => ((await openQuotas(who.walletId)).length ? true : undefined), 10_000);
      await stack.drain();
      assert.equal((await openQuotas(who.walletId)).length, 0);
      assert.equal((await wallet(stack, who)).reserved, 0);
      // Runs still work, one by one.
      assert.equal((await run(stack, { token: who.token, instanceId })).status, 200);
      assert.equal((await wallet(stack, who)).reserved, 0);
      assert.deepEqual(await checkInvariants(stack.db!), []);
    });
  });
}
