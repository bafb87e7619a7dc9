/**
 * The purchase path end to end, in one process with real HTTP between the parts:
 * a fake Saleor (its own RS256 key, JWKS at /.well-known/jwks.json, ORDER_FULLY_PAID signed as
 * Saleor's pyjwt signs it: src/provisioner/saleor-dev.ts) → the real Provisioner (signature check,
 * the order held in its inbox, SKU → catalog, one Control Plane call per line with
 * `Idempotency-Key: saleor:<instance tag>:<orderId>:<lineId>`) → the real Control Plane
 * (order-paid → buyer workspace + instance or top-up) → GitOps commit → built-in reconciler →
 * instance `active`.
 *
 * Covers T1/T2/T9 as a buyer lives them: paid plan → active instance (timed: order paid →
 * active, target ≤ 2 s), duplicate webhooks (re-sent and a concurrent burst) create
 * one instance, a credit pack tops up once, a forged signature creates nothing; and the inbox:
 * with the Control Plane down the webhook is still answered 200 within 2 s and the order is
 * applied once it is back, also across a Provisioner restart; two Saleor instances sending the
 * same order and line ids both get what they paid for.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/platform/logger';
import type { ServiceApp } from '../../src/platform/http/create-service-app';
import { createProvisionerApp } from '../../src/provisioner/app';
import { createProvisionerDeps, type ProvisionerDepsOverrides } from '../../src/provisioner/deps';
import { orderLineKey, orderLineSourceRef } from '../../src/commerce/saleor-keys';
import { completeOrder, generateSaleorKey, legacyPayload, saleorHeaders, saleorJwks, saleorPayloadBytes, subscriptionPayload, type DemoOrder, type SaleorJwsForm, type SaleorSigningKey } from '../../src/provisioner/saleor-dev';
import { startFakeSaleor, type FakeSaleor } from '../../src/provisioner/testing';
import { http, startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let saleor: FakeSaleor;
let saleor2: FakeSaleor;
let key: SaleorSigningKey;
let key2: SaleorSigningKey;
let cp: string;
let main: RunningProvisioner | undefined;
let webhookUrl: string;

interface RunningProvisioner {
  url: string;
  stop(): Promise<void>;
}

/** A real Provisioner (app + inbox worker) on the stack's database; `controlPlaneUrl` can be switched off. */
async function startProvisioner(o: { controlPlaneUrl: () => string; schedule?: ProvisionerDepsOverrides['schedule']; pollMs?: number }): Promise<RunningProvisioner> {
  const deps = createProvisionerDeps(
    { config: stack.config, log: createLogger({ level: 'silent' }), db: stack.db!, identity: stack.identity },
    { controlPlaneUrl: o.controlPlaneUrl, schedule: o.schedule, pollMs: o.pollMs },
  );
  deps.inboxWorker.start();
  const app = await createProvisionerApp(deps, { validateResponses: true });
  const { url } = await app.listen(0, '127.0.0.1');
  // The first request of a process compiles its validators (once, not per webhook): do it now.
  await http('POST', `${url}/webhooks/saleor/order-fully-paid`, { raw: '[]', headers: { 'content-type': 'application/json', 'saleor-event': 'order_fully_paid', 'saleor-api-url': saleor.apiUrl } });
  return {
    url,
    async stop() {
      await app.close();
      await deps.inboxWorker.stop();
    },
  };
}

before(async () => {
  key = await generateSaleorKey();
  key2 = await generateSaleorKey();
  saleor = await startFakeSaleor(saleorJwks(key));
  saleor2 = await startFakeSaleor(saleorJwks(key2));
  stack = await startTestStack(['control-plane'], { SEED_DEMO: '1', SALEOR_API_URLS: `${saleor.apiUrl},${saleor2.apiUrl}` });
  cp = stack.url('control-plane');
  main = await startProvisioner({ controlPlaneUrl: () => cp });
  webhookUrl = `${main.url}/webhooks/saleor/order-fully-paid`;
});
after(async () => {
  await main?.stop();
  await stack?.close();
  await saleor?.close();
  await saleor2?.close();
});

type Order = ReturnType<typeof completeOrder>;

const planOrder = (email: string, plan = 'starter', slug = 'support-assistant'): Order =>
  completeOrder({ email, lines: [{ sku: `${slug}:${plan}`, metadata: { planId: plan } }] });
const packOrder = (email: string, credits: number, quantity = 1): Order =>
  completeOrder({ email, lines: [{ sku: `credits:${credits}`, quantity, metadata: { creditsAmount: String(credits) } }] });

/** The exact bytes and headers Saleor would send for `order`. */
async function signed(order: Order | DemoOrder, signer: SaleorSigningKey = key, o: { form?: SaleorJwsForm; legacy?: boolean; from?: FakeSaleor } = {}) {
  const raw = saleorPayloadBytes(o.legacy ? legacyPayload(order as Order) : subscriptionPayload(order as Order));
  return { raw, headers: saleorHeaders({ apiUrl: (o.from ?? saleor).apiUrl, signature: await signer.sign(raw, { form: o.form }) }) };
}

async function deliver(msg: { raw: string; headers: Record<string, string> }, url = webhookUrl) {
  return http('POST', url, { raw: msg.raw, headers: msg.headers });
}

const sourceRef = (order: Order, i = 0, from = saleor) => orderLineSourceRef(from.apiUrl, order.id, order.lines[i]!.id);

async function instancesOf(order: Order, i = 0, from = saleor): Promise<{ id: string; state: string; activated_at: Date | null; org_id: string }[]> {
  return stack.db!('instances').where({ source: 'saleor', source_ref: sourceRef(order, i, from) }).select('id', 'state', 'activated_at', 'org_id');
}

async function topupsOf(order: Order, i = 0, from = saleor): Promise<{ id: string; amount: number | string; credit_type: string; wallet_id: string }[]> {
  return stack.db!('ledger_entries').where({ reference: orderLineKey(from.apiUrl, order.id, order.lines[i]!.id) }).select('id', 'amount', 'credit_type', 'wallet_id');
}

async function inboxRow(order: Order, from = saleor): Promise<{ id: string; status: string; attempts: number; deliveries: number } | undefined> {
  return stack.db!('provisioner_inbox').where({ saleor_api_url: from.apiUrl, order_id: order.id }).first('id', 'status', 'attempts', 'deliveries');
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000, everyMs = 10): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe('a paid plan', () => {
  test('T1/T2: a signed ORDER_FULLY_PAID → the provisioner → the control plane → an active instance the buyer owns (timed)', async () => {
    const email = 'e2e-buyer@example.com';
    const order = planOrder(email);
    const msg = await signed(order);
    const t0 = performance.now();
    const res = await deliver(msg);
    const webhookMs = performance.now() - t0;
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.lines[0].idempotencyKey, orderLineKey(saleor.apiUrl, order.id, order.lines[0]!.id));

    await waitFor('the inbox to deliver', async () => ((await inboxRow(order))?.status === 'delivered' ? true : undefined));
    const deliveredMs = performance.now() - t0;
    const active = await waitFor('the instance to become active', async () => {
      const [row] = await instancesOf(order);
      return row?.state === 'active' ? row : undefined;
    });
    const activeMs = performance.now() - t0;
    console.log(`# order paid → instance active: ${activeMs.toFixed(0)} ms (webhook answered in ${webhookMs.toFixed(0)} ms, applied by the control plane at ${deliveredMs.toFixed(0)} ms; target ≤ 2000 ms)`);
    // A sanity bound only (a busy shared machine is slow); bench:purchase measures the path.
    assert.ok(activeMs < 30_000, `order paid → active took ${activeMs.toFixed(0)} ms`);
    assert.equal((await inboxRow(order))?.status, 'delivered');

    // The buyer had never signed in: their first sign-in owns the workspace and the instance.
    const token = await stack.userToken(email);
    const orgs = await http('GET', `${cp}/orgs`, { token });
    assert.deepEqual(orgs.body.items.map((o: any) => o.id), [active.org_id]);
    const inst = await http('GET', `${cp}/instances/${active.id}`, { token });
    assert.equal(inst.status, 200);
    assert.equal(inst.body.state, 'active');
    assert.equal(inst.body.source, 'saleor');
    assert.equal(inst.body.gitops.health, 'Healthy');
  });

  for (const [form, who] of [['crit', 'Saleor 3.20'], ['no-crit', 'Saleor 3.19.0']] as const) {
    test(`an order signed as ${who} signs it (legacy payload, mapped by SKU) creates one instance`, async () => {
      const order = planOrder(`signed-${form}@example.com`);
      const res = await deliver(await signed(order, key, { form, legacy: true }));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await waitFor('the instance', async () => ((await instancesOf(order)).length ? true : undefined));
      await waitFor('the inbox to settle', async () => ((await inboxRow(order))?.status === 'delivered' ? true : undefined));
      assert.equal((await instancesOf(order)).length, 1);
    });
  }
});

describe('buying Pro while on the trial (npm run saleor:send-order -- --plan pro)', () => {
  test('the signed order upgrades the trial instance in place and grants Pro\'s credits once, whatever the redeliveries', async () => {
    const email = 'trial-to-pro@example.com';
    const token = await stack.userToken(email);
    const ws = (await http('POST', `${cp}/orgs/auto`, { token, body: {} })).body;
    const versionId = (await http('GET', `${cp}/offerings?limit=50`)).body.items.find((o: any) => o.slug === 'support-assistant').publishedVersionId;
    const trial = await http('POST', `${cp}/instances`, { token, headers: { 'idempotency-key': 'e2e-trial-1' }, body: { projectId: ws.project.id, offeringVersionId: versionId, planId: 'starter' } });
    assert.equal(trial.status, 201, JSON.stringify(trial.body));
    await waitFor('the trial to be active', async () => ((await http('GET', `${cp}/instances/${trial.body.id}`, { token })).body.state === 'active' ? true : undefined), 45_000, 50);
    const before = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body;

    const order = planOrder(email, 'pro');
    const msg = await signed(order);
    const burst = await Promise.all(Array.from({ length: 3 }, () => deliver(msg)));
    for (const b of burst) assert.equal(b.status, 200, JSON.stringify(b.body));
    await waitFor('the inbox to deliver', async () => ((await inboxRow(order))?.status === 'delivered' ? true : undefined));
    assert.equal((await deliver(msg)).body.duplicate, true);

    const list = await http('GET', `${cp}/instances?projectId=${ws.project.id}`, { token });
    assert.deepEqual(list.body.items.map((i: any) => [i.id, i.planId]), [[trial.body.id, 'pro']], 'the trial itself is now Pro; no second instance');
    const grants = await stack.db!('ledger_entries').where({ wallet_id: ws.wallet.id, reference: `plan:${sourceRef(order)}` });
    assert.equal(grants.length, 1);
    assert.equal(Number(grants[0].amount), 20000);
    const after = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body;
    assert.equal(after.balance, before.balance + 20000);
  });
});

describe('duplicate webhooks (T9)', () => {
  test('the same body re-sent, then a concurrent burst of 5 redeliveries: one instance', async () => {
    const order = planOrder('dup-buyer@example.com', 'pro');
    const msg = await signed(order);
    const first = await deliver(msg);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.duplicate, false);
    await waitFor('the instance', async () => ((await instancesOf(order)).length ? true : undefined));
    const again = await deliver(msg);
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
    const burst = await Promise.all(Array.from({ length: 5 }, () => deliver(msg)));
    for (const b of burst) {
      assert.equal(b.status, 200, JSON.stringify(b.body));
      assert.equal(b.body.duplicate, true);
    }
    assert.equal((await instancesOf(order)).length, 1);
    assert.equal((await inboxRow(order))?.deliveries, 7);
  });

  test('a concurrent burst of 5 first deliveries of a new order: one held order, one instance', async () => {
    const order = planOrder('burst-buyer@example.com');
    const msg = await signed(order);
    const burst = await Promise.all(Array.from({ length: 5 }, () => deliver(msg)));
    for (const b of burst) assert.equal(b.status, 200, JSON.stringify(b.body));
    assert.equal(burst.filter((b) => b.body.duplicate === false).length, 1);
    assert.equal(new Set(burst.map((b) => b.body.inboxId)).size, 1);
    await waitFor('the inbox to settle', async () => ((await inboxRow(order))?.status === 'delivered' ? true : undefined));
    assert.equal((await instancesOf(order)).length, 1);
    assert.equal(Number((await stack.db!.raw(`select count(*) as n from orgs o join users u on u.id = o.owner_user_id where lower(u.email) = 'burst-buyer@example.com'`)).rows[0].n), 1, 'one workspace');
  });
});

describe('a credit pack', () => {
  test('tops up creditsAmount × quantity paid credits once, whatever the redeliveries', async () => {
    const email = 'pack-e2e@example.com';
    const token = await stack.userToken(email);
    const ws = (await http('POST', `${cp}/orgs/auto`, { token, body: {} })).body;
    const order = packOrder(email, 250, 4);
    const msg = await signed(order);
    const res = await deliver(msg);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await Promise.all([deliver(msg), deliver(msg), deliver(msg)]);
    await waitFor('the inbox to settle', async () => ((await inboxRow(order))?.status === 'delivered' ? true : undefined));
    const topups = await topupsOf(order);
    assert.equal(topups.length, 1);
    assert.deepEqual([Number(topups[0]!.amount), topups[0]!.credit_type, topups[0]!.wallet_id], [1000, 'paid', ws.wallet.id]);
    const wallet = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body;
    assert.equal(wallet.paidBalance, 1000);
    assert.equal(wallet.balance, ws.wallet.balance + 1000);
  });
});

describe('two Saleor instances with colliding order ids', () => {
  test('the same order and line ids from two stores: each buyer gets their own top-up, neither is taken for a duplicate', async () => {
    const email = 'two-stores@example.com';
    const token = await stack.userToken(email);
    const ws = (await http('POST', `${cp}/orgs/auto`, { token, body: {} })).body;
    const ids = { id: Buffer.from('Order:00000000-0000-4000-8000-00000000c0de').toString('base64'), lineId: Buffer.from('OrderLine:00000000-0000-4000-8000-00000000c0de').toString('base64') };
    const a = completeOrder({ id: ids.id, email, lines: [{ id: ids.lineId, sku: 'credits:100' }] });
    const b = completeOrder({ id: ids.id, email, lines: [{ id: ids.lineId, sku: 'credits:300' }] });
    const ra = await deliver(await signed(a, key, { from: saleor }));
    const rb = await deliver(await signed(b, key2, { from: saleor2 }));
    assert.equal(ra.status, 200, JSON.stringify(ra.body));
    assert.equal(rb.status, 200, JSON.stringify(rb.body));
    assert.equal(rb.body.duplicate, false);
    assert.notEqual(ra.body.lines[0].idempotencyKey, rb.body.lines[0].idempotencyKey);
    for (const [o, from] of [[a, saleor], [b, saleor2]] as const) {
      await waitFor('the inbox to settle', async () => ((await inboxRow(o, from))?.status === 'delivered' ? true : undefined));
    }
    assert.deepEqual((await topupsOf(a, 0, saleor)).map((t) => Number(t.amount)), [100]);
    assert.deepEqual((await topupsOf(b, 0, saleor2)).map((t) => Number(t.amount)), [300]);
    const wallet = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body;
    assert.equal(wallet.paidBalance, 400);
  });
});

describe('a forged webhook', () => {
  test('another key\'s signature or a tampered body is refused; nothing is created or held', async () => {
    const email = 'forger@example.com';
    const order = planOrder(email);
    const forged = await signed(order, await generateSaleorKey());
    forged.headers['saleor-signature'] = await (await generateSaleorKey()).sign(forged.raw, { header: { kid: key.kid } });
    const r1 = await deliver(forged);
    assert.equal(r1.status, 401, JSON.stringify(r1.body));
    assert.equal(r1.body.error.code, 'SIGNATURE_INVALID');
    const good = await signed(order);
    const r2 = await deliver({ raw: good.raw.replace('"quantity": 1', '"quantity": 9'), headers: good.headers });
    assert.equal(r2.status, 401);
    assert.equal((await instancesOf(order)).length, 0);
    assert.equal(await inboxRow(order), undefined);
    assert.equal(Number((await stack.db!.raw(`select count(*) as n from users where lower(email) = ?`, [email])).rows[0].n), 0);
    assert.equal(Number((await stack.db!.raw(`select count(*) as n from provisioner_dead_letters where order_id = ?`, [order.id])).rows[0].n), 0);
  });
});

describe('the inbox: the control plane down, the provisioner restarted', () => {
  let deadUrl: string;
  let cpUp = false;
  const fast = { delaysMs: [100, 200, 400], maxDelayMs: 400 };

  before(async () => {
    // Only the provisioners started here deliver from now on (the main one would reach the live CP).
    await main?.stop();
    main = undefined;
    deadUrl = await closedPortUrl();
  });

  test('the control plane stopped: the webhook is answered 200 within 2 s; once it is back the order is applied, once', async () => {
    const prov = await startProvisioner({ controlPlaneUrl: () => (cpUp ? cp : deadUrl), schedule: fast, pollMs: 50 });
    try {
      cpUp = false;
      const order = planOrder('cp-down@example.com');
      const msg = await signed(order);
      const t0 = performance.now();
      const res = await deliver(msg, `${prov.url}/webhooks/saleor/order-fully-paid`);
      const answeredMs = performance.now() - t0;
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(answeredMs < 2000, `answered in ${answeredMs.toFixed(0)} ms`);
      await waitFor('a few failed rounds', async () => (((await inboxRow(order))?.attempts ?? 0) >= 3 ? true : undefined));
      assert.equal((await instancesOf(order)).length, 0);
      // Saleor would not redeliver (it got 200); a redelivery anyway changes nothing.
      assert.equal((await deliver(msg, `${prov.url}/webhooks/saleor/order-fully-paid`)).body.duplicate, true);

      cpUp = true;
      await waitFor('the order to be applied', async () => ((await inboxRow(order))?.status === 'delivered' ? true : undefined));
      assert.equal((await instancesOf(order)).length, 1);
      await waitFor('active', async () => ((await instancesOf(order))[0]?.state === 'active' ? true : undefined));
    } finally {
      await prov.stop();
    }
  });

  test('across a provisioner restart: held while the control plane is down, applied once by the restarted provisioner', async () => {
    cpUp = false;
    const first = await startProvisioner({ controlPlaneUrl: () => (cpUp ? cp : deadUrl), schedule: fast, pollMs: 50 });
    const order = packOrder('restart@example.com', 70, 2);
    const msg = await signed(order);
    const t0 = performance.now();
    const res = await deliver(msg, `${first.url}/webhooks/saleor/order-fully-paid`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(performance.now() - t0 < 2000);
    await waitFor('a failed round', async () => (((await inboxRow(order))?.attempts ?? 0) >= 1 ? true : undefined));
    await first.stop(); // the restart: whatever was in flight gives its lease back

    assert.equal((await inboxRow(order))?.status, 'queued');
    cpUp = true;
    const second = await startProvisioner({ controlPlaneUrl: () => (cpUp ? cp : deadUrl), schedule: fast, pollMs: 50 });
    try {
      await waitFor('the order to be applied', async () => ((await inboxRow(order))?.status === 'delivered' ? true : undefined));
      const topups = await topupsOf(order);
      assert.deepEqual(topups.map((t) => Number(t.amount)), [140], 'applied once');
      const again = await deliver(msg, `${second.url}/webhooks/saleor/order-fully-paid`);
      assert.deepEqual([again.status, again.body.duplicate, again.body.status], [200, true, 'delivered']);
      assert.equal((await topupsOf(order)).length, 1);
    } finally {
      await second.stop();
    }
  });
});
/** A URL nothing listens on (connection refused): a port we bound and released. */
async function closedPortUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
