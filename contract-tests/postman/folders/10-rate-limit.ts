import { folder, request } from '../dsl';

const run = { instanceId: '{{TOOLS_INSTANCE_ID}}', input: { text: 'Where is order 1?' } };

export default folder('10 - Rate limit', "T12: the tool agent's plan allows one run per minute (burst 1): the second run in a row is refused with 429 and Retry-After.", [
  request({
    name: 'T12: the first run goes through',
    call: 'POST /v1/runs',
    service: 'gateway',
    token: 'USER_JWT',
    body: run,
    status: 200,
    checks: [['the echo flow answers the input, billed on the wallet', "pm.expect(body.status).to.eql('succeeded'); pm.expect(body.output.text).to.eql('Where is order 1?'); pm.expect(body.billing.reservationId).to.be.a('string');"]],
  }),
  request({
    name: 'T12: the second run → 429 RATE_LIMITED with Retry-After',
    call: 'POST /v1/runs',
    service: 'gateway',
    token: 'USER_JWT',
    body: run,
    status: 429,
    error: 'RATE_LIMITED',
    checks: [['Retry-After in whole seconds, as the details say', "const s = Number(res.headers.get('Retry-After')); pm.expect(s).to.be.within(1, 60); pm.expect(body.error.details.retryAfterSeconds).to.eql(s);"]],
  }),
]);
