/**
 * Org notifications through the whole control plane:
 * - an org admin registers a webhook endpoint (secret shown once, never again, never logged);
 * - settles drain the wallet below its low-balance threshold → exactly one `wallet.low_balance`
 *   notification, delivered as a signed POST to a local receiver that answers 500 twice then 200
 *   (delivered on the 3rd attempt, the same `webhook-id` each time); further settles while low
 *   send nothing; a top-up re-arms it and the next crossing sends a second one;
 * - another org's admin gets 404 and a member of the org 403 on every endpoint operation;
 * - outside development a webhook to 127.0.0.1, 169.254.169.254 or over http is refused with 422
 *   NOTIFICATION_TARGET_REFUSED.
 *
 * The receiver verifies signatures with the `standardwebhooks` package (the reference
 * implementation of the Standard Webhooks specification,
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md,
 * libraries/javascript/src/index.ts): `webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { activeInstance, buyer, waitFor, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';
import { createSecretStore } from '../secrets';
import { readWebhookSecret } from './endpoints';

interface Received {
  id: string;
  verified: boolean;
  body: any;
  answered: number;
}

/** A webhook receiver: verifies each delivery, answers the statuses of `plan` in turn, then 200. */
function receiver(plan: number[]) {
  const received: Received[] = [];
  let secret = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      let body: unknown;
      try {
        body = new Webhook(secret).verify(raw, req.headers as Record<string, string>);
        verified = true;
      } catch {
        body = JSON.parse(raw);
      }
      const answered = plan.shift() ?? 200;
      received.push({ id: String(req.headers['webhook-id']), verified, body, answered });
      res.writeHead(answered).end();
    });
  });
  return {
    received,
    setSecret: (s: string) => void (secret = s),
    async listen() {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/agent-store`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const logLines: string[] = [];

describe('webhook notifications (development targets allowed)', () => {
  let stack: TestStack;
  let cp: string;
  let gw: string;
  let owner: Buyer;
  let instanceId: string;
  const hook = receiver([500, 500]);
  let url: string;
  let secret: string;
  let runs = 0;

  before(async () => {
    const log = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
    stack = await startTestStack(['control-plane'], { SEED_DEMO: '1', NOTIFY_ALLOW_PRIVATE_TARGETS: '1', NOTIFY_POLL_MS: '50', NOTIFY_RETRY_BASE_MS: '150', NOTIFY_RETRY_MAX_MS: '600' }, { log });
    cp = stack.url('control-plane');
    gw = await stack.serviceToken('gateway');
    owner = await buyer(stack, 'notify-owner@example.com');
    instanceId = await activeInstance(stack, owner, { planId: 'starter' });
    url = await hook.listen();
  });
  after(async () => {
    await stack?.close();
    await hook.close();
  });

  const endpoint = (method: string, token: string, orgId = owner.orgId, body?: unknown) => http(method, `${cp}/orgs/${orgId}/notification-endpoint`, { token, body });
  const balance = async () => (await http('GET', `${cp}/wallets/${owner.walletId}`, { token: owner.token })).body.balance as number;
  /** One run's money as the gateway moves it: a hold, then a settle of its usage. */
  const run = async (usage: Record<string, number>) => {
    const runId = `run_NOTIFY${String(++runs).padStart(6, '0')}`;
    const hold = await http('POST', `${cp}/billing/authorize`, { token: gw, headers: { 'idempotency-key': `hold-${runId}` }, body: { instanceId, runId, estimatedBudget: 40 } });
    assert.equal(hold.status, 201, JSON.stringify(hold.body));
    const settled = await http('POST', `${cp}/billing/settle`, { token: gw, body: { reservationId: hold.body.reservationId, usage } });
    assert.equal(settled.status, 200, JSON.stringify(settled.body));
    return settled.body.creditsCharged as number;
  };
  const lowBalanceNotices = async () => (await http('GET', `${cp}/orgs/${owner.orgId}/notifications`, { token: owner.token })).body.items.filter((n: any) => n.kind === 'wallet.low_balance');

  test('the owner registers the webhook: the secret is answered once, then only `hasSecret`', async () => {
    const put = await endpoint('PUT', owner.token, owner.orgId, { url });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.match(put.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    secret = put.body.secret;
    hook.setSecret(secret);
    const got = await endpoint('GET', owner.token);
    assert.equal(got.status, 200);
    assert.deepEqual([got.body.url, got.body.hasSecret, got.body.secret], [url, true, undefined]);
    const replaced = await endpoint('PUT', owner.token, owner.orgId, { url, emailAdmins: false });
    assert.equal(replaced.body.secret, undefined, 'replacing keeps the secret and does not show it');
  });

  test('draining below the threshold sends exactly one signed notice, delivered on the 3rd attempt; a top-up re-arms it', async () => {
    const start = await balance();
    const threshold = start - 10;
    assert.equal((await http('PATCH', `${cp}/wallets/${owner.walletId}`, { token: owner.token, body: { lowBalanceThreshold: threshold } })).status, 200);
    const heavy = { tokens_in: 20_000, tokens_out: 5_000, runs: 1 };
    const charged = await run(heavy);
    assert.ok(charged >= 10, `one run crosses the threshold (charged ${charged})`);
    await run(heavy);
    await run(heavy);
    await waitFor('the notice delivered', async () => (hook.received.some((r) => r.answered === 200) ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 800)); // room for any (wrong) extra delivery
    assert.deepEqual(hook.received.map((r) => r.answered), [500, 500, 200], 'retried after two 500s, then delivered');
    assert.equal(new Set(hook.received.map((r) => r.id)).size, 1, 'one notification, the same webhook-id on every attempt');
    assert.ok(hook.received.every((r) => r.verified), 'every attempt carries a valid Standard Webhooks signature');
    const body = hook.received[0]!.body;
    assert.equal(body.type, 'wallet.low_balance');
    assert.deepEqual([body.data.walletId, body.data.threshold, body.data.previousBalance >= threshold, body.data.balance < threshold, body.data.cause], [owner.walletId, threshold, true, true, 'settle']);
    const notices = await lowBalanceNotices();
    assert.equal(notices.length, 1);
    assert.deepEqual([notices[0].status, notices[0].attempts, notices[0].lastStatus, notices[0].id], ['delivered', 3, 200, hook.received[0]!.id]);

    // A top-up lifts the wallet above the threshold: the next crossing notifies again.
    const op = await stack.userToken('notify-op@example.com', ['platform-operator']);
    const up = await http('POST', `${cp}/wallets/${owner.walletId}/topups`, { token: op, headers: { 'idempotency-key': 'notify-refill-1' }, body: { amount: 200, creditType: 'granted', source: 'promotion' } });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    while ((await balance()) >= threshold) await run(heavy);
    await run(heavy);
    await waitFor('the second notice', async () => (new Set(hook.received.map((r) => r.id)).size === 2 && hook.received.at(-1)!.answered === 200 ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(new Set(hook.received.map((r) => r.id)).size, 2);
    assert.equal((await lowBalanceNotices()).length, 2);
  });

  test('credits_wallet.lowBalanceThreshold of the instance applies when the wallet has none; notifyOnLowBalance: false sends nothing', async () => {
    const drainTo = async (who: Buyer, inst: string, below: number) => {
      for (let i = 0; i < 200; i++) {
        const b = (await http('GET', `${cp}/wallets/${who.walletId}`, { token: who.token })).body.balance as number;
        if (b < below) return;
        const runId = `run_CFG${who.orgId.slice(-6)}${String(i).padStart(4, '0')}`;
        const hold = await http('POST', `${cp}/billing/authorize`, { token: gw, headers: { 'idempotency-key': `hold-${runId}` }, body: { instanceId: inst, runId, estimatedBudget: 40 } });
        assert.equal(hold.status, 201, JSON.stringify(hold.body));
        await http('POST', `${cp}/billing/settle`, { token: gw, body: { reservationId: hold.body.reservationId, usage: { tokens_in: 20_000, tokens_out: 5_000, runs: 1 } } });
      }
      throw new Error('wallet did not drain');
    };
    const setup = async (email: string, notifyOnLowBalance: boolean) => {
      const who = await buyer(stack, email);
      const start = (await http('GET', `${cp}/wallets/${who.walletId}`, { token: who.token })).body.balance as number;
      const threshold = start - 30;
      const inst = await activeInstance(stack, who, { planId: 'starter', configOverrides: { credits_wallet: { lowBalanceThreshold: threshold, notifyOnLowBalance } } });
      const put = await http('PUT', `${cp}/orgs/${who.orgId}/notification-endpoint`, { token: who.token, body: { email: `billing-${email}` } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      await drainTo(who, inst, threshold);
      const items = (await http('GET', `${cp}/orgs/${who.orgId}/notifications`, { token: who.token })).body.items;
      return { who, threshold, notices: items.filter((n: any) => n.kind === 'wallet.low_balance') };
    };
    const on = await setup('notify-cfg-on@example.com', true);
    assert.equal(on.notices.length, 1, 'the instance threshold crossed once');
    assert.deepEqual([on.notices[0].channel, on.notices[0].data.threshold], ['email', on.threshold]);
    const off = await setup('notify-cfg-off@example.com', false);
    assert.equal(off.notices.length, 0, 'notifyOnLowBalance: false');
  });

  test('a rotated secret signs the next delivery; the old one no longer verifies', async () => {
    const rotated = await http('POST', `${cp}/orgs/${owner.orgId}/notification-endpoint/secret`, { token: owner.token });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.notEqual(rotated.body.secret, secret);
    const before = hook.received.length;
    const op = await stack.userToken('notify-op@example.com', ['platform-operator']);
    await http('POST', `${cp}/wallets/${owner.walletId}/topups`, { token: op, headers: { 'idempotency-key': 'notify-refill-2' }, body: { amount: 300, creditType: 'granted', source: 'promotion' } });
    const threshold = (await http('GET', `${cp}/wallets/${owner.walletId}`, { token: owner.token })).body.lowBalanceThreshold as number;
    while ((await balance()) >= threshold) await run({ tokens_in: 20_000, tokens_out: 5_000, runs: 1 });
    await waitFor('a delivery after the rotation', async () => (hook.received.length > before ? true : undefined), 20_000);
    assert.equal(hook.received.at(-1)!.verified, false, 'the receiver still holds the old secret');
    hook.setSecret(rotated.body.secret);
    const id = hook.received.at(-1)!.id;
    const raw = JSON.stringify(hook.received.at(-1)!.body);
    assert.ok(raw.includes('wallet.low_balance'));
    assert.ok(id.startsWith('ntf_'));
  });

  test('another org\'s admin gets 404 and a member of the org 403, on every operation', async () => {
    const stranger = await buyer(stack, 'notify-stranger@example.com');
    for (const [method, path] of [['GET', ''], ['PUT', ''], ['DELETE', ''], ['POST', '/secret']] as const) {
      const r = await http(method, `${cp}/orgs/${owner.orgId}/notification-endpoint${path}`, { token: stranger.token, body: method === 'PUT' ? { url: 'https://evil.example.com/x' } : undefined });
      assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
    }
    assert.equal((await http('GET', `${cp}/orgs/${owner.orgId}/notifications`, { token: stranger.token })).status, 404);
    const member = await buyer(stack, 'notify-member@example.com');
    const memberUser = await stack.db!('users').where({ email: 'notify-member@example.com' }).first();
    await stack.db!('memberships').insert({ org_id: owner.orgId, user_id: memberUser.id, role: 'member' });
    for (const [method, path] of [['GET', ''], ['PUT', ''], ['DELETE', ''], ['POST', '/secret']] as const) {
      const r = await http(method, `${cp}/orgs/${owner.orgId}/notification-endpoint${path}`, { token: member.token, body: method === 'PUT' ? { url: 'https://evil.example.com/x' } : undefined });
      assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
    }
    const still = await endpoint('GET', owner.token);
    assert.equal(still.body.url, url, 'nothing replaced');
  });

  test('the secret appears in no answer after its creation and in no log line', async () => {
    const answers = [await endpoint('GET', owner.token), await http('GET', `${cp}/orgs/${owner.orgId}/notifications?limit=200`, { token: owner.token })];
    for (const a of answers) assert.ok(!JSON.stringify(a.body).includes(secret.slice(6)), 'not in answers');
    assert.ok(logLines.length > 0, 'logs were captured');
    assert.ok(logLines.some((l) => l.includes('notification settled')), 'the worker logged its deliveries');
    assert.ok(!logLines.some((l) => l.includes(secret.slice(6))), 'not in logs');
  });

  test('concurrent first PUTs issue one secret: exactly one answer carries it, and it is the one that signs', async () => {
    const org = await buyer(stack, 'notify-race@example.com');
    const puts = await Promise.all(Array.from({ length: 6 }, (_, i) => endpoint('PUT', org.token, org.orgId, { url: `${url}?n=${i}` })));
    for (const p of puts) assert.equal(p.status, 200, JSON.stringify(p.body));
    const issued = puts.filter((p) => p.body.secret !== undefined);
    assert.equal(issued.length, 1, 'one secret issued');
    assert.equal(await readWebhookSecret(createSecretStore(stack.config), org.orgId), issued[0]!.body.secret, 'the answered secret is the one stored for signing');
    const got = await endpoint('GET', org.token, org.orgId);
    assert.equal(got.body.hasSecret, true);
  });

  test('deleting the endpoint removes the secret; a body without any channel is 422', async () => {
    const empty = await endpoint('PUT', owner.token, owner.orgId, {});
    assert.equal(empty.status, 422);
    assert.equal(empty.body.error.code, 'UNPROCESSABLE');
    assert.equal((await endpoint('DELETE', owner.token)).status, 204);
    assert.equal((await endpoint('GET', owner.token)).status, 404);
    assert.equal((await endpoint('DELETE', owner.token)).status, 404);
    const again = await endpoint('PUT', owner.token, owner.orgId, { url });
    assert.match(again.body.secret, /^whsec_/, 'a new endpoint gets a new secret');
    assert.notEqual(again.body.secret, secret);
  });
});

describe('webhook targets outside development', () => {
  let stack: TestStack;
  let cp: string;
  let owner: Buyer;
  before(async () => {
    stack = await startTestStack(['control-plane'], { SEED_DEMO: '0', NOTIFY_WORKER_ENABLED: 'false' });
    cp = stack.url('control-plane');
    owner = await buyer(stack, 'notify-prod@example.com');
  });
  after(async () => stack?.close());

  test('loopback, cloud metadata, private ranges and plain http are refused with 422 NOTIFICATION_TARGET_REFUSED; nothing is stored', async () => {
    const cases: [string, string][] = [
      ['https://127.0.0.1/hook', 'private_network'],
      ['https://169.254.169.254/latest/meta-data/', 'private_network'],
      ['https://10.1.2.3/hook', 'private_network'],
      ['https://[::1]/hook', 'private_network'],
      ['https://localhost/hook', 'private_network'],
      ['http://hooks.example.com/hook', 'insecure_scheme'],
      ['https://user:pass@hooks.example.com/hook', 'credentials_in_url'],
    ];
    for (const [url, reason] of cases) {
      const r = await http('PUT', `${cp}/orgs/${owner.orgId}/notification-endpoint`, { token: owner.token, body: { url } });
      assert.equal(r.status, 422, `${url}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'NOTIFICATION_TARGET_REFUSED', url);
      assert.equal(r.body.error.details.reason, reason, url);
    }
    assert.equal((await http('GET', `${cp}/orgs/${owner.orgId}/notification-endpoint`, { token: owner.token })).status, 404, 'nothing stored');
    const emailOnly = await http('PUT', `${cp}/orgs/${owner.orgId}/notification-endpoint`, { token: owner.token, body: { email: 'Billing@Example.com' } });
    assert.equal(emailOnly.status, 200, JSON.stringify(emailOnly.body));
    assert.deepEqual([emailOnly.body.email, emailOnly.body.hasSecret, emailOnly.body.secret], ['billing@example.com', false, undefined]);
  });
});
