/** Cross-cutting HTTP behaviour every service shares (shown on the control plane). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { http, startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let cp: string;
before(async () => {
  stack = await startTestStack(['control-plane']);
  cp = stack.url('control-plane');
});
after(async () => stack?.close());

test('X-Request-Id is echoed and becomes the error traceId', async () => {
  const res = await http('GET', `${cp}/no/such/route`, { headers: { 'x-request-id': 'trace-abc.123' } });
  assert.equal(res.headers.get('x-request-id'), 'trace-abc.123');
  assert.equal(res.body.error.traceId, 'trace-abc.123');
});

test('a missing or malformed X-Request-Id is replaced by a generated one', async () => {
  for (const headers of [{}, { 'x-request-id': 'has spaces and <tags>' }] as Record<string, string>[]) {
    const res = await http('GET', `${cp}/no/such/route`, { headers });
    const id = res.headers.get('x-request-id')!;
    assert.match(id, /^req_[0-9A-Z]{26}$/);
    assert.equal(res.body.error.traceId, id);
  }
});

test('unknown route → 404 NOT_FOUND in the canonical body', async () => {
  const res = await http('GET', `${cp}/no/such/route`);
  assert.equal(res.status, 404);
  assert.deepEqual(Object.keys(res.body), ['error']);
  assert.equal(res.body.error.code, 'NOT_FOUND');
  assert.equal(typeof res.body.error.message, 'string');
});

test('known route, wrong method → 405 METHOD_NOT_ALLOWED with Allow', async () => {
  const res = await http('DELETE', `${cp}/offerings`);
  assert.equal(res.status, 405);
  assert.equal(res.body.error.code, 'METHOD_NOT_ALLOWED');
  assert.match(res.headers.get('allow') ?? '', /GET/);
  assert.match(res.headers.get('allow') ?? '', /POST/);
});

test('malformed JSON → 400 MALFORMED_JSON, not the body parser\'s plain text', async () => {
  const token = await stack.userToken();
  const res = await http('POST', `${cp}/offerings`, { token, raw: '{"title": ', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'MALFORMED_JSON');
});

test('schema violations → 400 VALIDATION_FAILED listing every error', async () => {
  const token = await stack.userToken('author@example.com', ['publisher-admin']); // authorized first: policy/ runs before validation
  const res = await http('POST', `${cp}/offerings`, { token, body: { unexpected: true } });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'VALIDATION_FAILED');
  assert.ok(res.body.error.details.errors.length >= 2, JSON.stringify(res.body));
});

test('query parameters are validated with their formats and bounds', async () => {
  const res = await http('GET', `${cp}/offerings?limit=100000`);
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'VALIDATION_FAILED');
  assert.ok(res.body.error.details.errors.some((e: any) => e.path.includes('limit')));
});

test('wrong content type → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
  const token = await stack.userToken('author@example.com', ['publisher-admin']); // authorized first: policy/ runs before validation
  const res = await http('POST', `${cp}/offerings`, { token, raw: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(res.status, 415);
  assert.equal(res.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
});

test('a body over the limit → 413 PAYLOAD_TOO_LARGE', async () => {
  const token = await stack.userToken();
  const res = await http('POST', `${cp}/offerings`, { token, raw: `{"x":"${'a'.repeat(1024 * 1024 + 10)}"}`, headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 413);
  assert.equal(res.body.error.code, 'PAYLOAD_TOO_LARGE');
});

test('an invalid bearer token → 401 with a clear reason', async () => {
  const res = await http('POST', `${cp}/offerings`, { token: 'not-a-jwt', body: {} });
  assert.equal(res.status, 401);
  assert.equal(res.body.error.code, 'UNAUTHENTICATED');
});

test('a user token on a service-only operation → 403 FORBIDDEN', async () => {
  const token = await stack.userToken();
  const res = await http('POST', `${cp}/billing/void`, { token, body: { reservationId: 'res_01J9ZK3V7W4Q2N8M5R6T' }, headers: { 'idempotency-key': 'void-test-key-1' } });
  assert.equal(res.status, 403, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'FORBIDDEN');
});

test('/healthz and /readyz', async () => {
  assert.deepEqual((await http('GET', `${cp}/healthz`)).body, { status: 'ok', service: 'control-plane' });
  const ready = await http('GET', `${cp}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
});

test('the development issuer publishes discovery and JWKS at Keycloak\'s paths', async () => {
  const issuer = stack.identity.issuer;
  const path = new URL(issuer).pathname;
  const disco = await http('GET', `${cp}${path}/.well-known/openid-configuration`);
  assert.equal(disco.status, 200);
  assert.equal(disco.body.issuer, issuer);
  const jwks = await http('GET', `${cp}${path}/protocol/openid-connect/certs`);
  assert.equal(jwks.status, 200);
  assert.ok(jwks.body.keys.length >= 1);
  assert.equal(jwks.body.keys[0].d, undefined, 'no private key material');
});

test('GET /metrics exposes request counters by operation and error code, and control-plane gauges', async () => {
  await http('GET', `${cp}/no/such/route`);
  await http('GET', `${cp}/capabilities`);
  const res = await fetch(`${cp}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /agentstore_http_requests_total\{[^}]*operation="listCapabilities"[^}]*status="200"/);
  assert.match(text, /agentstore_http_requests_total\{[^}]*status="404"[^}]*code="NOT_FOUND"/);
  assert.match(text, /agentstore_instances_stuck_provisioning\{service="control-plane"\} 0/);
  assert.match(text, /agentstore_http_request_duration_seconds_bucket/);
});
