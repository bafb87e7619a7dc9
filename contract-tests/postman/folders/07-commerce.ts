import { orderLineKey } from '../../../src/commerce/saleor-keys';
import { folder, request } from '../dsl';

/** The Saleor the dev stack trusts (`npm run saleor:send-order`); keys are scoped by it. */
const SALEOR_API_URL = 'http://127.0.0.1:8089/graphql/';
const ORDER = 'T3JkZXI6bmV3bWFu';
const line = (lineId: string) => ({ saleorApiUrl: SALEOR_API_URL, orderId: ORDER, lineId, buyer: { email: 'newman@example.com' }, kind: 'credit_pack', creditsAmount: 250, quantity: 1, sku: 'credits:250' });
const key = (lineId: string) => orderLineKey(SALEOR_API_URL, ORDER, lineId);

const PRO_LINE = 'T3JkZXJMaW5lOjk=';
const proLine = { saleorApiUrl: SALEOR_API_URL, orderId: ORDER, lineId: PRO_LINE, buyer: { email: 'newman@example.com' }, kind: 'instance', offeringVersionId: '{{OFFERING_VERSION_ID}}', planId: 'pro', quantity: 1, sku: 'support-assistant:pro' };

export default folder('07 - Commerce', 'A paid Saleor order line reaches the control plane (T1) exactly once (T9); only the provisioner may report it; an unsigned webhook is refused; a buyer starts only trial plans, and buying Pro upgrades their trial instance in place with its included credits, once.', [
  request({
    name: 'A buyer cannot start a paid plan → 403 PLAN_REQUIRES_PURCHASE',
    call: 'POST /instances',
    service: 'control-plane',
    token: 'USER_JWT',
    idempotencyKey: 'newman-{{ORG_ID}}-pro-without-purchase',
    body: { projectId: '{{PROJECT_ID}}', offeringVersionId: '{{OFFERING_VERSION_ID}}', planId: 'pro' },
    status: 403,
    error: 'PLAN_REQUIRES_PURCHASE',
  }),
  request({
    name: 'Buying Pro upgrades the trial instance in place (provisioner → control plane)',
    call: 'POST /integrations/saleor/order-paid',
    service: 'control-plane',
    token: 'PROVISIONER_JWT',
    idempotencyKey: key(PRO_LINE),
    body: proLine,
    status: 201,
    // The buyer's newest trial of the offering is the one upgraded: the gateway's auto-activated trial.
    checks: [['the same instance, now on Pro', "pm.expect(body.kind).to.eql('instance'); pm.expect(body.instance.id).to.eql(v('TRIAL_INSTANCE_ID')); pm.expect(body.instance.planId).to.eql('pro');"]],
  }),
  request({
    name: 'The same Pro line again: replayed, credits granted once',
    call: 'POST /integrations/saleor/order-paid',
    service: 'control-plane',
    token: 'PROVISIONER_JWT',
    idempotencyKey: key(PRO_LINE),
    body: proLine,
    status: 201,
    checks: [['replayed, same instance', "pm.expect(res.headers.get('Idempotent-Replayed')).to.eql('true'); pm.expect(body.instance.id).to.eql(v('TRIAL_INSTANCE_ID'));"]],
  }),
  request({
    name: 'Pro\'s included credits are one grant on the wallet',
    call: 'GET /wallets/{{WALLET_ID}}/ledger?limit=200',
    service: 'control-plane',
    token: 'USER_JWT',
    status: 200,
    checks: [['one plan grant', "const g = body.items.filter((e) => e.reference && e.reference.startsWith('plan:')); pm.expect(g.length).to.eql(1); pm.expect(g[0].kind).to.eql('grant'); pm.expect(g[0].creditType).to.eql('granted');"]],
  }),
  request({
    name: 'T1: order paid — credit pack for the buyer (provisioner → control plane)',
    call: 'POST /integrations/saleor/order-paid',
    service: 'control-plane',
    token: 'PROVISIONER_JWT',
    idempotencyKey: key('T3JkZXJMaW5lOjE='),
    body: line('T3JkZXJMaW5lOjE='),
    status: 201,
    checks: [['a paid top-up of 250 on the buyer\'s workspace', "pm.expect(body.kind).to.eql('credit_pack'); pm.expect(body.topup.amount).to.eql(250); pm.expect(body.walletId).to.eql(v('WALLET_ID'));"]],
    saves: { ORDER_TOPUP_ID: 'body.topup.ledgerEntryId' },
  }),
  request({
    name: 'T9: the same order line again creates nothing twice',
    call: 'POST /integrations/saleor/order-paid',
    service: 'control-plane',
    token: 'PROVISIONER_JWT',
    idempotencyKey: key('T3JkZXJMaW5lOjE='),
    body: line('T3JkZXJMaW5lOjE='),
    status: 201,
    checks: [['replayed, same top-up', "pm.expect(res.headers.get('Idempotent-Replayed')).to.eql('true'); pm.expect(body.topup.ledgerEntryId).to.eql(v('ORDER_TOPUP_ID'));"]],
  }),
  request({
    name: 'A user cannot report orders → 403',
    call: 'POST /integrations/saleor/order-paid',
    service: 'control-plane',
    token: 'USER_JWT',
    idempotencyKey: key('T3JkZXJMaW5lOjI='),
    body: line('T3JkZXJMaW5lOjI='),
    status: 403,
    error: 'FORBIDDEN',
  }),
  request({
    name: 'Unsigned Saleor webhook → 401 SIGNATURE_INVALID, nothing stored',
    call: 'POST /webhooks/saleor/order-fully-paid',
    service: 'provisioner',
    headers: { 'Saleor-Event': 'order_fully_paid', 'Saleor-Api-Url': 'http://127.0.0.1:8089/graphql/', 'Saleor-Domain': '127.0.0.1:8089' },
    body: {
      issuedAt: '2026-11-23T10:00:00Z',
      version: '3.20.0',
      order: {
        id: 'T3JkZXI6Zm9yZ2Vk',
        number: '1',
        userEmail: 'newman@example.com',
        metadata: [],
        lines: [{ id: 'T3JkZXJMaW5lOjk=', quantity: 1, productSku: 'credits:100000', productVariantId: 'UHJvZHVjdFZhcmlhbnQ6MQ==', variant: { id: 'UHJvZHVjdFZhcmlhbnQ6MQ==', sku: 'credits:100000' } }],
      },
    },
    status: 401,
    error: 'SIGNATURE_INVALID',
  }),
  request({
    name: 'Dead letters (operators)',
    call: 'GET /dead-letters',
    service: 'provisioner',
    token: 'OPERATOR_JWT',
    status: 200,
    checks: [['nothing dead-lettered: the forged order stored nothing', 'pm.expect(body.items).to.be.an("array"); pm.expect(body.items.filter((d) => JSON.stringify(d).includes("T3JkZXI6Zm9yZ2Vk"))).to.be.empty;']],
  }),
]);
