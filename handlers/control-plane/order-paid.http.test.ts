/**
 * POST /integrations/saleor/order-paid over HTTP (every response validated against the spec):
 * T1 (a paid plan line → one instance for the buyer, replayed by its key), T9 (concurrent
 * duplicates create one instance / one top-up; the same key with another payload → 409),
 * credit packs as paid credits, buyers known only by email (their first sign-in owns the
 * workspace), the org/project an order names, who may call, and refusals that store nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createVersion, transitionOffering } from '../../src/catalog';
import { orderLineKey, orderLineSourceRef } from '../../src/commerce/saleor-keys';
import { DEFAULT_STARTER_CREDITS } from '../../src/money/types';
import { minimalFlow, offeringIn, testCatalog, validCapabilities, validPlans, type TestCatalog } from '../../test/support/catalog';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;
let svc: string;
let catalog: TestCatalog;
const versions: Record<string, string> = {};
/** The demo support-assistant's starter plan includes 500 credits, granted by each purchase. */
const STARTER_INCLUDED = 500;

before(async () => {
  stack = await startTestStack(['control-plane'], { SEED_DEMO: '1' });
  cp = stack.url('control-plane');
  svc = await stack.serviceToken('provisioner');
  catalog = testCatalog();
  const list = await http('GET', `${cp}/offerings?limit=50`);
  for (const o of list.body.items) versions[o.slug] = o.publishedVersionId;
  assert.ok(versions['support-assistant'], 'the demo offering is published');
});
after(async () => {
  await stack?.close();
  catalog?.close();
});

const SHOP = 'https://shop.example.com/graphql/';
const ids = () => ({ saleorApiUrl: SHOP, orderId: Buffer.from(`Order:${randomUUID()}`).toString('base64'), lineId: Buffer.from(`OrderLine:${randomUUID()}`).toString('base64') });
const keyOf = (line: { saleorApiUrl: string; orderId: string; lineId: string }) => orderLineKey(line.saleorApiUrl, line.orderId, line.lineId);
const refOf = (line: { saleorApiUrl: string; orderId: string; lineId: string }) => orderLineSourceRef(line.saleorApiUrl, line.orderId, line.lineId);

function planLine(email: string, extra: Record<string, unknown> = {}) {
  return { ...ids(), orderNumber: '1042', buyer: { email }, kind: 'instance', offeringVersionId: versions['support-assistant'], planId: 'starter', quantity: 1, sku: 'support-assistant:starter', ...extra };
}
function packLine(email: string, creditsAmount: number, quantity = 1, extra: Record<string, unknown> = {}) {
  return { ...ids(), buyer: { email }, kind: 'credit_pack', creditsAmount, quantity, sku: `credits:${creditsAmount}`, ...extra };
}

function orderPaid(line: any, opts: { key?: string; token?: string } = {}) {
  return http('POST', `${cp}/integrations/saleor/order-paid`, { token: opts.token ?? svc, headers: { 'idempotency-key': opts.key ?? keyOf(line) }, body: line });
}

/** A buyer who has signed in and has a personal workspace. */
async function signedIn(email: string) {
  const token = await stack.userToken(email);
  const ws = (await http('POST', `${cp}/orgs/auto`, { token, body: {} })).body;
  return { token, ws };
}

async function count(sql: string, bindings: unknown[]): Promise<number> {
  const r = await stack.db!.raw(sql, bindings as any);
  return Number(r.rows[0].n);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('plan lines', () => {
  test('T1: a paid plan line creates the instance in the buyer\'s workspace; the same key replays it', async () => {
    const { token, ws } = await signedIn('t1-buyer@example.com');
    const line = planLine('t1-buyer@example.com');
    const first = await orderPaid(line);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.headers.get('idempotent-replayed'), 'false');
    assert.equal(first.body.kind, 'instance');
    assert.equal(first.body.orgId, ws.org.id);
    assert.equal(first.body.projectId, ws.project.id);
    assert.equal(first.body.walletId, ws.wallet.id);
    assert.equal(first.body.workspaceCreated, false);
    assert.equal(first.body.instance.source, 'saleor');
    assert.equal(first.body.instance.offeringVersionId, versions['support-assistant']);
    assert.equal(first.body.instance.planId, 'starter');

    const again = await orderPaid(line);
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body, 'the replay is the first answer');

    const id = first.body.instance.id;
    const mine = await http('GET', `${cp}/instances/${id}`, { token });
    assert.equal(mine.status, 200, 'the buyer sees the instance');
    await waitFor('active', async () => ((await http('GET', `${cp}/instances/${id}`, { token })).body.state === 'active' ? true : undefined));
    assert.equal(await count(`select count(*) as n from instances where source = 'saleor' and source_ref = ?`, [refOf(line)]), 1);
  });

  test('T9: 10 concurrent identical deliveries → one instance, one first answer, nine replays', async () => {
    await signedIn('t9-buyer@example.com');
    const line = planLine('t9-buyer@example.com');
    const answers = await Promise.all(Array.from({ length: 10 }, () => orderPaid(line)));
    for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal(new Set(answers.map((a) => a.body.instance.id)).size, 1);
    assert.equal(answers.filter((a) => a.headers.get('idempotent-replayed') === 'false').length, 1);
    assert.equal(await count(`select count(*) as n from instances where source_ref = ?`, [refOf(line)]), 1);

    const other = await orderPaid({ ...line, planId: 'pro' });
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.equal(other.body.error.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
    assert.equal(await count(`select count(*) as n from instances where source_ref = ?`, [refOf(line)]), 1);
  });

  test('a version that is not published or not certified → 422, nothing stored; the same key goes through once it is fixed', async () => {
    const email = `unpublished-${randomUUID().slice(0, 8)}@example.com`;
    const draft = await offeringIn(catalog.env, stack.db!, 'draft'); // certified version, offering not published
    const line = planLine(email, { offeringVersionId: draft.versionId });
    const refused = await orderPaid(line);
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'UNPROCESSABLE');
    assert.equal(await count(`select count(*) as n from idempotency_keys where key = ?`, [keyOf(line)]), 0, 'the key is not burned');
    assert.equal(await count(`select count(*) as n from users where lower(email) = lower(?)`, [email]), 0, 'no pending buyer');
    assert.equal(await count(`select count(*) as n from instances where source_ref = ?`, [refOf(line)]), 0);

    await transitionOffering(catalog.env, stack.db!, draft.offering.id, { to: 'published' }, 'tester');
    const retried = await orderPaid(line);
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
    assert.equal(retried.headers.get('idempotent-replayed'), 'false');

    // Not certified: a fresh uncertified version of a published offering; a corrected payload
    // (another version) under the same key is accepted, since the refusal stored nothing.
    const uncertified = await createVersion(
      catalog.env,
      stack.db!,
      draft.offering.id,
      { version: '2.0.0', flow: minimalFlow(), capabilities: validCapabilities, plans: validPlans, source: 'api' },
      'tester',
    );
    const bad = planLine(email, { offeringVersionId: uncertified.id });
    const r = await orderPaid(bad);
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.match(r.body.error.message, /certification/);
    const fixed = await orderPaid({ ...bad, offeringVersionId: draft.versionId });
    assert.equal(fixed.status, 201, JSON.stringify(fixed.body));

    const noSuchPlan = await orderPaid(planLine(email, { offeringVersionId: draft.versionId, planId: 'enterprise' }));
    assert.equal(noSuchPlan.status, 422, 'a plan the version does not offer');
    const unknown = await orderPaid(planLine(email, { offeringVersionId: 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M' }));
    assert.equal(unknown.status, 422, 'an unknown version is bad line content too');
  });

  test('refused line content: quantity > 1, a missing or foreign field, a plan the version lacks, a key that is not saleor:<instance tag>:<orderId>:<lineId>', async () => {
    const email = 'refusals@example.com';
    const cases: [any, number, string][] = [
      [planLine(email, { quantity: 2 }), 422, 'quantity'],
      [planLine(email, { planId: undefined }), 422, 'planId'],
      [planLine(email, { offeringVersionId: undefined }), 422, 'offeringVersionId'],
      [planLine(email, { creditsAmount: 10 }), 422, 'creditsAmount'],
      [packLine(email, 100, 1, { planId: 'pro' }), 422, 'planId'],
      [{ ...packLine(email, 100), creditsAmount: undefined }, 422, 'creditsAmount'],
    ];
    for (const [line, status, hint] of cases) {
      const r = await orderPaid(line);
      assert.equal(r.status, status, `${hint}: ${JSON.stringify(r.body)}`);
    }
    const line = planLine(email);
    for (const key of [`saleor:${line.orderId}:${line.lineId}`, orderLineKey('https://other-shop.example.com/graphql/', line.orderId, line.lineId), orderLineKey(SHOP, line.orderId, 'other-line')]) {
      const wrongKey = await orderPaid(line, { key });
      assert.equal(wrongKey.status, 400, JSON.stringify(wrongKey.body));
      assert.equal(wrongKey.body.error.code, 'VALIDATION_FAILED');
      assert.equal(wrongKey.body.error.details.expected, keyOf(line));
    }
    assert.equal(await count(`select count(*) as n from users where lower(email) = lower(?)`, [email]), 0, 'refusals create no buyer');
  });
});

describe('two Saleor instances', () => {
  test('the same order and line ids from another Saleor instance are another line: two instances, two top-ups, no replay', async () => {
    const email = 'two-instances@example.com';
    const { ws } = await signedIn(email);
    const plan = planLine(email);
    const otherPlan = { ...plan, saleorApiUrl: 'https://other-shop.example.com/graphql/' };
    const a = await orderPaid(plan);
    const b = await orderPaid(otherPlan);
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal(b.status, 201, JSON.stringify(b.body));
    assert.equal(b.headers.get('idempotent-replayed'), 'false');
    assert.notEqual(a.body.instance.id, b.body.instance.id);
    const pack = packLine(email, 50);
    const otherPack = { ...pack, saleorApiUrl: 'https://other-shop.example.com/graphql/' };
    assert.equal((await orderPaid(pack)).status, 201);
    const second = await orderPaid(otherPack);
    assert.equal(second.status, 201);
    assert.equal(second.body.topup.reference, keyOf(otherPack));
    const wallet = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token: (await signedIn(email)).token })).body;
    assert.equal(wallet.paidBalance, 100, 'both packs credited');
  });
});

describe('credit packs', () => {
  test('a credit pack tops up creditsAmount × quantity paid credits once; duplicates replay', async () => {
    const { token, ws } = await signedIn('pack-buyer@example.com');
    const line = packLine('pack-buyer@example.com', 500, 2);
    const answers = await Promise.all(Array.from({ length: 10 }, () => orderPaid(line)));
    for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal(answers.filter((a) => a.headers.get('idempotent-replayed') === 'false').length, 1);
    const first = answers.find((a) => a.headers.get('idempotent-replayed') === 'false')!;
    assert.equal(first.body.kind, 'credit_pack');
    assert.equal(first.body.walletId, ws.wallet.id);
    assert.equal(first.body.topup.amount, 1000);
    assert.equal(first.body.topup.creditType, 'paid');
    assert.equal(first.body.topup.reference, keyOf(line));
    assert.equal(new Set(answers.map((a) => a.body.topup.ledgerEntryId)).size, 1);

    const wallet = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body;
    assert.equal(wallet.paidBalance, 1000);
    assert.equal(wallet.balance, ws.wallet.balance + 1000);
    const paid = await http('GET', `${cp}/wallets/${ws.wallet.id}/ledger?creditType=paid`, { token });
    const topups = paid.body.items.filter((e: any) => e.kind === 'topup');
    assert.equal(topups.length, 1, JSON.stringify(paid.body.items));
    assert.equal(topups[0].amount, 1000);
    assert.equal(topups[0].reference, keyOf(line));
    assert.equal(topups[0].id, first.body.topup.ledgerEntryId);
    const stored = await stack.db!('ledger_entries').where({ id: topups[0].id }).first();
    assert.deepEqual([stored.metadata.source, stored.metadata.orderId, stored.metadata.creditsAmount, stored.metadata.quantity], ['saleor', line.orderId, 500, 2]);

    const other = await orderPaid({ ...line, quantity: 3 });
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
    assert.equal((await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body.paidBalance, 1000);
  });
});

describe('buyers known only by email', () => {
  test('an unknown buyer gets a workspace (starter grant included) that their first sign-in owns; another email sees nothing', async () => {
    const email = 'first-timer@example.com';
    const line = planLine(email);
    const bought = await orderPaid(line);
    assert.equal(bought.status, 201, JSON.stringify(bought.body));
    assert.equal(bought.body.workspaceCreated, true);
    const pack = await orderPaid(packLine(email, 300));
    assert.equal(pack.status, 201, JSON.stringify(pack.body));
    assert.equal(pack.body.workspaceCreated, false, 'a second line goes to the same pending workspace');
    assert.equal(pack.body.orgId, bought.body.orgId);
    assert.equal(pack.body.topup.balance, DEFAULT_STARTER_CREDITS + STARTER_INCLUDED + 300, 'starter grant, the plan\'s included credits, the pack');
    assert.equal(await count(`select count(*) as n from users where pending and lower(email) = lower(?)`, [email]), 1);

    const stranger = await stack.userToken('someone-else@example.com');
    const theirs = await http('GET', `${cp}/orgs`, { token: stranger });
    assert.equal(theirs.status, 200);
    assert.ok(!theirs.body.items.some((o: any) => o.id === bought.body.orgId));
    assert.equal((await http('GET', `${cp}/instances/${bought.body.instance.id}`, { token: stranger })).status, 404);

    const token = await stack.userToken(email);
    const orgs = await http('GET', `${cp}/orgs`, { token });
    assert.equal(orgs.status, 200);
    const org = orgs.body.items.find((o: any) => o.id === bought.body.orgId);
    assert.ok(org, `the buyer owns the workspace on first sign-in: ${JSON.stringify(orgs.body)}`);
    assert.equal(org.myRole, 'owner');
    assert.equal(org.personal, true);
    assert.equal(org.ownerUserId, `user-${email}`);
    assert.equal((await http('GET', `${cp}/instances/${bought.body.instance.id}`, { token })).status, 200);
    const wallet = await http('GET', `${cp}/wallets/${bought.body.walletId}`, { token });
    assert.equal(wallet.body.grantedBalance, DEFAULT_STARTER_CREDITS + STARTER_INCLUDED);
    assert.equal(wallet.body.paidBalance, 300);
    assert.equal(await count(`select count(*) as n from users where pending and lower(email) = lower(?)`, [email]), 0, 'the placeholder is gone');

    // POST /orgs/auto now answers the same workspace, and later orders go to the real account.
    const auto = await http('POST', `${cp}/orgs/auto`, { token, body: {} });
    assert.equal(auto.status, 200);
    assert.equal(auto.body.org.id, bought.body.orgId);
    const later = await orderPaid(planLine(email.toUpperCase()));
    assert.equal(later.status, 201, JSON.stringify(later.body));
    assert.equal(later.body.orgId, bought.body.orgId);
    assert.equal(later.body.workspaceCreated, false);
  });

  test('buyer.userId (a Keycloak subject not seen yet) gets their own workspace, owned at their first sign-in', async () => {
    const subject = `kc-${randomUUID()}`;
    const line = planLine('subject-buyer@example.com', { buyer: { email: 'subject-buyer@example.com', userId: subject } });
    const r = await orderPaid(line);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.workspaceCreated, true);
    const token = await stack.identity.devIssuer!.mint({ kind: 'user', subject, email: 'subject-buyer@example.com', audience: stack.config.oidc.audience });
    const orgs = await http('GET', `${cp}/orgs`, { token });
    assert.deepEqual(orgs.body.items.map((o: any) => o.id), [r.body.orgId]);
  });
});

describe('the org or project an order names', () => {
  test('is used when the buyer is a member; otherwise 422 and nothing happens', async () => {
    const { ws } = await signedIn('named-owner@example.com');
    const mallory = await signedIn('named-mallory@example.com');

    const viaProject = await orderPaid(planLine('named-owner@example.com', { buyer: { email: 'named-owner@example.com', projectId: ws.project.id } }));
    assert.equal(viaProject.status, 201, JSON.stringify(viaProject.body));
    assert.equal(viaProject.body.projectId, ws.project.id);
    assert.equal(viaProject.body.workspaceCreated, false);
    const viaOrg = await orderPaid(packLine('named-owner@example.com', 50, 1, { buyer: { email: 'named-owner@example.com', orgId: ws.org.id } }));
    assert.equal(viaOrg.status, 201, JSON.stringify(viaOrg.body));
    assert.equal(viaOrg.body.walletId, ws.wallet.id);

    const refusals = [
      { email: 'named-mallory@example.com', orgId: ws.org.id }, // not a member
      { email: 'named-mallory@example.com', projectId: ws.project.id },
      { email: 'named-owner@example.com', orgId: mallory.ws.org.id, projectId: ws.project.id }, // disagree
      { email: 'named-owner@example.com', orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X' }, // no such org
      { email: 'named-owner@example.com', projectId: 'prj_01J9ZK4B2C3D4E5F6G7H8J9K0M' },
    ];
    for (const buyer of refusals) {
      const line = packLine(buyer.email, 10, 1, { buyer });
      const r = await orderPaid(line);
      assert.equal(r.status, 422, `${JSON.stringify(buyer)} → ${JSON.stringify(r.body)}`);
      assert.equal(await count(`select count(*) as n from ledger_entries where reference = ?`, [keyOf(line)]), 0);
    }
  });
});

describe('who may call', () => {
  test('a user token → 403; another platform service → 403; no token → 401', async () => {
    const line = planLine('caller-check@example.com');
    const user = await orderPaid(line, { token: await stack.userToken('caller-check@example.com') });
    assert.equal(user.status, 403, JSON.stringify(user.body));
    assert.equal(user.body.error.code, 'FORBIDDEN');
    const gateway = await orderPaid(line, { token: await stack.serviceToken('gateway') });
    assert.equal(gateway.status, 403);
    const anonymous = await http('POST', `${cp}/integrations/saleor/order-paid`, { headers: { 'idempotency-key': keyOf(line) }, body: line });
    assert.equal(anonymous.status, 401);
    assert.equal(await count(`select count(*) as n from instances where source_ref = ?`, [refOf(line)]), 0);
  });
});
