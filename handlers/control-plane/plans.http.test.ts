/**
 * Plans as a product, over HTTP against the control plane (responses validated against the spec):
 * a buyer starts only trial plans (POST /instances, upgrade) and sets only buyer-settable config
 * fields; a paid order line upgrades the buyer's trial in place and grants the plan's included
 * credits once (replays, concurrent duplicates); a platform operator may do what the buyer may
 * not; what is left of a purchased period's credits expires at its end, audited.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { orderLineKey, orderLineSourceRef } from '../../src/commerce/saleor-keys';
import { expireDuePlanPeriods, openPlanPeriod } from '../../src/money/plan-credits';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;
let svc: string;
let versionId: string;
let offeringId: string;

before(async () => {
  stack = await startTestStack(['control-plane'], { SEED_DEMO: '1' });
  cp = stack.url('control-plane');
  svc = await stack.serviceToken('provisioner');
  const list = await http('GET', `${cp}/offerings?limit=50`);
  const offering = list.body.items.find((o: any) => o.slug === 'support-assistant');
  offeringId = offering.id;
  versionId = offering.publishedVersionId;
});
after(async () => stack?.close());

async function signedIn(email: string, roles: string[] = []) {
  const token = await stack.userToken(email, roles);
  const ws = (await http('POST', `${cp}/orgs/auto`, { token, body: {} })).body;
  return { token, ws };
}

const create = (token: string, body: Record<string, unknown>) =>
  http('POST', `${cp}/instances`, { token, headers: { 'idempotency-key': `k-${randomUUID()}` }, body });

async function waitActive(token: string, id: string): Promise<void> {
  const started = Date.now();
  while ((await http('GET', `${cp}/instances/${id}`, { token })).body.state !== 'active') {
    if (Date.now() - started > 45_000) throw new Error(`instance ${id} never went active`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SHOP = 'https://shop.example.com/graphql/';
function proLine(email: string) {
  const line = {
    saleorApiUrl: SHOP,
    orderId: Buffer.from(`Order:${randomUUID()}`).toString('base64'),
    lineId: Buffer.from(`OrderLine:${randomUUID()}`).toString('base64'),
    buyer: { email },
    kind: 'instance',
    offeringVersionId: versionId,
    planId: 'pro',
    quantity: 1,
    sku: 'support-assistant-pro',
  };
  return { line, key: orderLineKey(line.saleorApiUrl, line.orderId, line.lineId), ref: orderLineSourceRef(line.saleorApiUrl, line.orderId, line.lineId) };
}
const orderPaid = (o: { line: object; key: string }) =>
  http('POST', `${cp}/integrations/saleor/order-paid`, { token: svc, headers: { 'idempotency-key': o.key }, body: o.line });

async function ledger(token: string, walletId: string): Promise<any[]> {
  const r = await http('GET', `${cp}/wallets/${walletId}/ledger?limit=200`, { token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items;
}

describe('a buyer starts only trial plans', () => {
  test('POST /instances with a paid plan → 403 PLAN_REQUIRES_PURCHASE; the trial plan is fine; nothing is stored for the refusal', async () => {
    const { token, ws } = await signedIn('plan-buyer@example.com');
    for (const planId of ['pro', 'enterprise']) {
      const r = await create(token, { projectId: ws.project.id, offeringVersionId: versionId, planId });
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'PLAN_REQUIRES_PURCHASE');
      assert.equal(r.body.error.details.planId, planId);
      assert.deepEqual(r.body.error.details.trialPlans, ['starter']);
    }
    assert.equal(Number((await stack.db!('instances').where({ project_id: ws.project.id }).count<{ count: string }[]>('* as count'))[0]!.count), 0);
    const trial = await create(token, { projectId: ws.project.id, offeringVersionId: versionId, planId: 'starter' });
    assert.equal(trial.status, 201, JSON.stringify(trial.body));
    await waitActive(token, trial.body.id);

    const up = await http('POST', `${cp}/instances/${trial.body.id}/upgrade`, { token, body: { planId: 'pro' } });
    assert.equal(up.status, 403, JSON.stringify(up.body));
    assert.equal(up.body.error.code, 'PLAN_REQUIRES_PURCHASE');
    assert.equal((await http('GET', `${cp}/instances/${trial.body.id}`, { token })).body.planId, 'starter');
  });

  test('the catalog says which plans are trials', async () => {
    const r = await http('GET', `${cp}/offerings?limit=50`);
    const plans = r.body.items.find((o: any) => o.slug === 'support-assistant').plans;
    assert.deepEqual(plans.map((p: any) => [p.id, p.trial]), [['starter', true], ['pro', false], ['enterprise', false]]);
  });

  test('a platform operator may create a paid plan and move an instance to one', async () => {
    const { ws } = await signedIn('operated@example.com');
    const op = await stack.userToken('operated@example.com', ['platform-operator']);
    const pro = await create(op, { projectId: ws.project.id, offeringVersionId: versionId, planId: 'pro' });
    assert.equal(pro.status, 201, JSON.stringify(pro.body));
    assert.equal(pro.body.planId, 'pro');
  });
});

describe('a buyer sets only buyer-settable config fields', () => {
  test('a lowered run budget, a raised input size or private networks → 422 CONFIG_FIELD_LOCKED naming the field', async () => {
    const { token, ws } = await signedIn('locked-fields@example.com');
    const cases: [Record<string, unknown>, string, string][] = [
      [{ credits_wallet: { estimatedBudgetPerRun: 1 } }, 'credits_wallet', '/estimatedBudgetPerRun'],
      [{ api_endpoint: { maxInputChars: 100000 } }, 'api_endpoint', '/maxInputChars'],
      [{ tool_connectors: { allowPrivateNetworks: true, allowedHosts: ['127.0.0.1'] } }, 'tool_connectors', '/allowPrivateNetworks'],
    ];
    for (const [configOverrides, capability, field] of cases) {
      const r = await create(token, { projectId: ws.project.id, offeringVersionId: versionId, planId: 'starter', configOverrides });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'CONFIG_FIELD_LOCKED');
      assert.equal(r.body.error.details.capability, capability);
      assert.equal(r.body.error.details.field, field);
    }
    const ok = await create(token, { projectId: ws.project.id, offeringVersionId: versionId, planId: 'starter', configOverrides: { credits_wallet: { lowBalanceThreshold: 5 } } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));

    const patched = await http('PATCH', `${cp}/instances/${ok.body.id}`, { token, body: { configOverrides: { credits_wallet: { estimatedBudgetPerRun: 1 } } } });
    assert.equal(patched.status, 422, JSON.stringify(patched.body));
    assert.equal(patched.body.error.code, 'CONFIG_FIELD_LOCKED');
    const ent = await http('GET', `${cp}/instances/${ok.body.id}/entitlements`, { token });
    assert.notEqual(ent.body.limits.estimatedBudgetPerRun, 1, 'the refused value never reached the entitlements');

    // A platform operator may set it, and the buyer may then send the operator's value back unchanged.
    const op = await stack.userToken('locked-fields@example.com', ['platform-operator']);
    const byOp = await http('PATCH', `${cp}/instances/${ok.body.id}`, { token: op, body: { configOverrides: { credits_wallet: { estimatedBudgetPerRun: 12 } } } });
    assert.equal(byOp.status, 200, JSON.stringify(byOp.body));
    const kept = await http('PATCH', `${cp}/instances/${ok.body.id}`, { token, body: { configOverrides: { credits_wallet: { estimatedBudgetPerRun: 12, lowBalanceThreshold: 7 } } } });
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    const changed = await http('PATCH', `${cp}/instances/${ok.body.id}`, { token, body: { configOverrides: { credits_wallet: { estimatedBudgetPerRun: 1 } } } });
    assert.equal(changed.status, 422);
    assert.equal(changed.body.error.details.field, '/estimatedBudgetPerRun');
  });
});

describe('buying a plan', () => {
  test('a paid pro line upgrades the buyer\'s trial in place and grants its credits once; replays change nothing', async () => {
    const email = 'upgrader@example.com';
    const { token, ws } = await signedIn(email);
    const trial = await create(token, { projectId: ws.project.id, offeringVersionId: versionId, planId: 'starter' });
    assert.equal(trial.status, 201, JSON.stringify(trial.body));
    await waitActive(token, trial.body.id);
    const before = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body;

    const order = proLine(email);
    const first = await orderPaid(order);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.instance.id, trial.body.id, 'the trial instance itself, no second instance');
    assert.equal(first.body.instance.planId, 'pro');
    const again = await orderPaid(order);
    assert.equal(again.status, 201);
    assert.deepEqual(again.body, first.body);

    const instances = await http('GET', `${cp}/instances?projectId=${ws.project.id}`, { token });
    assert.deepEqual(instances.body.items.map((i: any) => [i.id, i.planId]), [[trial.body.id, 'pro']]);
    // The amount is the plan's own includedCredits, as the published version lists it.
    const version = await http('GET', `${cp}/offerings/${offeringId}/versions/${versionId}`);
    const { includedCredits } = version.body.plans.find((p: any) => p.id === 'pro');
    assert.ok(includedCredits > 0);
    const grants = (await ledger(token, ws.wallet.id)).filter((e) => e.reference === `plan:${order.ref}`);
    assert.equal(grants.length, 1);
    assert.equal(grants[0].kind, 'grant');
    assert.equal(grants[0].creditType, 'granted');
    assert.equal(grants[0].amount, includedCredits);
    const after = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body;
    assert.equal(after.balance, before.balance + includedCredits);
    assert.equal(after.grantedBalance, before.grantedBalance + includedCredits);
    const audit = await http('GET', `${cp}/orgs/${ws.org.id}/audit-events?action=wallet.plan_credits_granted`, { token });
    if (audit.status === 200) assert.ok(audit.body.items.some((e: any) => e.data.reference === `plan:${order.ref}`));
  });

  test('concurrent duplicate deliveries of one line: one upgrade, one grant', async () => {
    const email = 'racer@example.com';
    const { token, ws } = await signedIn(email);
    const trial = await create(token, { projectId: ws.project.id, offeringVersionId: versionId, planId: 'starter' });
    await waitActive(token, trial.body.id);
    const order = proLine(email);
    const answers = await Promise.all(Array.from({ length: 6 }, () => orderPaid(order)));
    for (const a of answers) assert.ok(a.status === 201 || (a.status === 409 && a.body.error.code === 'IDEMPOTENCY_IN_PROGRESS'), JSON.stringify(a.body));
    const settled = await orderPaid(order);
    assert.equal(settled.body.instance.id, trial.body.id);
    assert.equal((await ledger(token, ws.wallet.id)).filter((e) => e.reference === `plan:${order.ref}`).length, 1);
    assert.equal(Number((await stack.db!('plan_periods').where({ source_ref: order.ref }).count<{ count: string }[]>('* as count'))[0]!.count), 1);
  });

  test('a buyer without a trial gets a new instance; a renewal line adds one more period; what is left expires at the period end', async () => {
    const email = 'renewer@example.com';
    const { token, ws } = await signedIn(email);
    const first = await orderPaid(proLine(email));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.instance.source, 'saleor');
    const renewal = proLine(email);
    const second = await orderPaid(renewal);
    assert.equal(second.status, 201, JSON.stringify(second.body));
    const periods = await stack.db!('plan_periods').where({ org_id: ws.org.id }).orderBy('created_at');
    assert.equal(periods.length, 2);
    const w0 = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body;

    // Nothing is due yet; 31 days on, both periods end and what is left of their grants expires once.
    await expireDuePlanPeriods(stack.db!);
    assert.equal((await stack.db!('plan_periods').where({ org_id: ws.org.id }).whereNotNull('expired_at')).length, 0, 'nothing is due yet');
    const later = { clock: () => new Date(Date.now() + 31 * 86_400_000) };
    // Two sweepers (two control-plane replicas) at once: each period still expires once.
    const [a, b] = await Promise.all([expireDuePlanPeriods(stack.db!, later), expireDuePlanPeriods(stack.db!, later)]);
    assert.ok(a + b >= 2);
    assert.equal(await expireDuePlanPeriods(stack.db!, later), 0, 'a period expires once');
    assert.equal((await stack.db!('plan_periods').where({ org_id: ws.org.id }).whereNotNull('expired_at')).length, 2);
    const expiries = (await ledger(token, ws.wallet.id)).filter((e) => e.kind === 'expiry');
    assert.equal(expiries.length, 2);
    assert.equal(expiries.reduce((s, e) => s + e.amount, 0), -40000);
    const w1 = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body;
    assert.equal(w1.balance, w0.balance - 40000);
    assert.equal(w1.grantedBalance, w0.grantedBalance - 40000);
    const audited = await stack.db!('audit_events').where({ org_id: ws.org.id, action: 'wallet.credits_expired' });
    assert.equal(audited.length, 2);
  });
});

describe('credits come only from purchases or a platform operator', () => {
  test('publisher-admin and org owners are refused a top-up (403, nothing credited); an operator\'s top-up is audited with its actor', async () => {
    const { token, ws } = await signedIn('topup-target@example.com');
    const before = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body.balance;
    const publisher = await stack.userToken('catalog-admin@example.com', ['publisher-admin']);
    // A publisher-admin outside the org does not even see the wallet (404); its own owner is refused (403).
    for (const [who, status] of [[publisher, [403, 404]], [token, [403]]] as const) {
      const r = await http('POST', `${cp}/wallets/${ws.wallet.id}/topups`, { token: who, headers: { 'idempotency-key': `t-${randomUUID()}` }, body: { amount: 5000, creditType: 'paid', source: 'admin' } });
      assert.ok((status as readonly number[]).includes(r.status), JSON.stringify(r.body));
    }
    assert.equal((await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body.balance, before);

    const op = await stack.userToken('ops@example.com', ['platform-operator']);
    const granted = await http('POST', `${cp}/wallets/${ws.wallet.id}/topups`, { token: op, headers: { 'idempotency-key': `t-${randomUUID()}` }, body: { amount: 70, creditType: 'granted', source: 'promotion', reference: 'promo-spring' } });
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    const audited = await stack.db!('audit_events').where({ org_id: ws.org.id, action: 'wallet.topup' });
    assert.equal(audited.length, 1);
    assert.equal(audited[0].actor_id, 'user-ops@example.com');
  });
});

describe('depletionPolicy: suspend', () => {
  /** An active instance with `credits_wallet.depletionPolicy: suspend` in a new workspace. */
  async function suspendingInstance(email: string) {
    const { token, ws } = await signedIn(email);
    const op = await stack.userToken(email, ['platform-operator']);
    const created = await create(op, { projectId: ws.project.id, offeringVersionId: versionId, planId: 'starter', configOverrides: { credits_wallet: { depletionPolicy: 'suspend' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await waitActive(token, id);
    return { token, ws, op, id };
  }

  test('a settle that empties the wallet suspends the instance (and notifies); a top-up resumes it; both are in its events and the audit log', async () => {
    const { token, ws, op, id } = await suspendingInstance('suspender@example.com');

    const endpoint = await http('PUT', `${cp}/orgs/${ws.org.id}/notification-endpoint`, { token, body: { email: 'ops@suspender.example.com' } });
    assert.equal(endpoint.status, 200, JSON.stringify(endpoint.body));
    // Spend the wallet down to zero through the billing API, as a gateway would.
    const gw = await stack.serviceToken('gateway');
    const balance = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body.balance as number;
    const hold = await http('POST', `${cp}/billing/authorize`, { token: gw, headers: { 'idempotency-key': `drain-${id}` }, body: { instanceId: id, runId: 'run_DRAIN0000001', estimatedBudget: balance } });
    assert.equal(hold.status, 201, JSON.stringify(hold.body));
    const settled = await http('POST', `${cp}/billing/settle`, { token: gw, body: { reservationId: hold.body.reservationId, usage: { tokens_out: 100_000_000 } } });
    assert.ok(settled.status < 300, JSON.stringify(settled.body));
    assert.equal((await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body.balance, 0);
    // The settle itself suspended it: no refused run needed to find the wallet empty.
    assert.equal((await http('GET', `${cp}/instances/${id}`, { token })).body.state, 'paused');
    const notices = (await http('GET', `${cp}/orgs/${ws.org.id}/notifications`, { token })).body.items.filter((n: any) => n.kind === 'instance.suspended_for_credits');
    assert.equal(notices.length, 1, 'one suspension notice');
    assert.deepEqual([notices[0].channel, notices[0].data.instanceId, notices[0].data.walletId], ['email', id, ws.wallet.id]);

    const run = { attemptId: 'att_suspend0001', callerKind: 'user', callerSubject: 'user-suspender@example.com', input: { text: 'hi' } };
    const refused = await http('POST', `${cp}/billing/authorize`, { token: gw, body: { instanceId: id, runId: 'run_SUSPEND00001', run } });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'NOT_ENTITLED', 'a suspended instance runs nothing');

    const topup = await http('POST', `${cp}/wallets/${ws.wallet.id}/topups`, { token: op, headers: { 'idempotency-key': `refill-${id}` }, body: { amount: 200, creditType: 'granted', source: 'promotion' } });
    assert.equal(topup.status, 201, JSON.stringify(topup.body));
    assert.equal((await http('GET', `${cp}/instances/${id}`, { token })).body.state, 'active', 'the credit resumed it');
    const events = (await http('GET', `${cp}/instances/${id}/events`, { token })).body.items.map((e: any) => e.type);
    assert.deepEqual(events.slice(-2), ['paused', 'resumed']);
    const audited = (await stack.db!('audit_events').where({ org_id: ws.org.id }).whereIn('action', ['instance.suspended', 'instance.resumed']).orderBy('seq')).map((e: any) => e.action);
    assert.deepEqual(audited, ['instance.suspended', 'instance.resumed']);

    // An instance its admin paused is not resumed by a credit.
    await http('POST', `${cp}/instances/${id}/pause`, { token, body: {} });
    await http('POST', `${cp}/wallets/${ws.wallet.id}/topups`, { token: op, headers: { 'idempotency-key': `refill2-${id}` }, body: { amount: 5, creditType: 'granted', source: 'promotion' } });
    assert.equal((await http('GET', `${cp}/instances/${id}`, { token })).body.state, 'paused');
  });

  test('a plan period\'s expiry that empties the wallet suspends the instance, as a charge does', async () => {
    const { token, ws, op, id } = await suspendingInstance('expiry-suspender@example.com');
    // Spend what the wallet has, then a period's included credits are all it holds.
    const gw = await stack.serviceToken('gateway');
    const balance = (await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body.balance as number;
    const hold = await http('POST', `${cp}/billing/authorize`, { token: gw, headers: { 'idempotency-key': `drain-${id}` }, body: { instanceId: id, runId: 'run_EXPDRAIN00001', estimatedBudget: balance } });
    assert.equal(hold.status, 201, JSON.stringify(hold.body));
    assert.ok((await http('POST', `${cp}/billing/settle`, { token: gw, body: { reservationId: hold.body.reservationId, usage: { tokens_out: 100_000_000 } } })).status < 300);
    await stack.db!.transaction((trx) => openPlanPeriod(trx, { instanceId: id, orgId: ws.org.id, projectId: ws.project.id, walletId: ws.wallet.id, planId: 'starter', sourceRef: `test:${id}`, includedCredits: 300, upgradedInPlace: false, actor: 'system:test' }));
    assert.equal((await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body.balance, 300);
    assert.equal((await http('GET', `${cp}/instances/${id}`, { token })).body.state, 'active', 'the grant resumed it');

    await expireDuePlanPeriods(stack.db!, { clock: () => new Date(Date.now() + 31 * 86_400_000) });
    assert.equal((await http('GET', `${cp}/wallets/${ws.wallet.id}`, { token })).body.balance, 0);
    assert.equal((await http('GET', `${cp}/instances/${id}`, { token })).body.state, 'paused', 'the expiry suspended it');
    const row = await stack.db!('instances').where({ id }).first();
    assert.equal(row.suspended_for_credits, true);
    const events = (await http('GET', `${cp}/instances/${id}/events`, { token })).body.items.map((e: any) => e.type);
    assert.equal(events.at(-1), 'paused');
  });
});
