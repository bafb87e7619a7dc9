import { orderLineKey } from '../../../src/commerce/saleor-keys';
import { folder, request } from '../dsl';

/** The Saleor the dev stack trusts (`npm run saleor:send-order`); keys are scoped by it. */
const SALEOR_API_URL = 'http://127.0.0.1:8089/graphql/';
const ORDER = 'T3JkZXI6bmV3bWFu';
const line = (lineId: string) => ({ saleorApiUrl: SALEOR_API_URL, orderId: ORDER, lineId, buyer: { email: 'newman@example.com' }, kind: 'credit_pack', creditsAmount: 250, quantity: 1, sku: 'credits:250' });
const key = (lineId: string) => orderLineKey(SALEOR_API_URL, ORDER, lineId);

export default folder('07 - Commerce', 'A paid Saleor order line reaches the control plane (T1) exactly once (T9); only the provisioner may report it; an unsigned webhook is refused.', [
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
