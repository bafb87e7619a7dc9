import { folder, request } from '../dsl';

const WHY = 'the request breaks the spec on purpose: the service\'s own refusal is under test (the proxy would answer itself)';

export default folder('05 - Errors', 'Refusals every service gives in the canonical error body: malformed JSON, an unknown route, a missing token.', [
  request({
    name: 'Malformed JSON → 400',
    call: 'POST /orgs/auto',
    service: 'control-plane',
    direct: WHY,
    token: 'USER_JWT',
    body: '{"name": ',
    status: 400,
    error: 'MALFORMED_JSON',
  }),
  request({ name: 'Unknown route → 404', call: 'GET /no/such/route', service: 'control-plane', direct: WHY, status: 404, error: 'NOT_FOUND' }),
  request({ name: 'No token → 401', call: 'GET /orgs', service: 'control-plane', direct: WHY, status: 401, error: 'UNAUTHENTICATED' }),
]);
