/**
 * The gateway's Control Plane client against a scripted Control Plane: retry counts per
 * operation (authorize 3, settle/void 5, reads 2), the Idempotency-Key and X-Request-Id on every
 * attempt, pass-through of final answers, fail-closed 503s, token refresh on 401, keep-alive.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { AppError } from '../platform/errors';
import { createControlPlaneClient, type ControlPlaneClient } from './cp-client';
import { createHttpClient, type HttpClient } from '../platform/service-client/http-json';
import { POLICIES } from './retry';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
let seen: Seen[] = [];
let connections = 0;
let script: ((req: Seen, n: number) => { status: number; body?: unknown; hang?: boolean }) = () => ({ status: 200, body: {} });
let http: HttpClient;
let client: ControlPlaneClient;
let sleeps: number[] = [];
let tokenInvalidations = 0;
let tokenSerial = 0;

before(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const s: Seen = { method: req.method!, url: req.url!, headers: req.headers, body };
    seen.push(s);
    const answer = script(s, seen.length);
    if (answer.hang) return; // never answers: the client's attempt timeout fires
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  });
  server.on('connection', () => connections++);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  http?.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen = [];
  sleeps = [];
  tokenInvalidations = 0;
  http?.close();
  http = createHttpClient();
  connections = 0;
  client = createControlPlaneClient({
    baseUrl: () => base,
    http,
    tokens: { token: async () => `svc-token-${tokenSerial}`, invalidate: () => { tokenInvalidations++; tokenSerial++; } },
    sleep: async (ms) => void sleeps.push(ms),
    policies: { settle: { ...POLICIES.settle, timeoutMs: 200 }, read: { ...POLICIES.read, timeoutMs: 200 } },
  });
});

const problem = (status: number, code: string, details?: Record<string, unknown>) => ({ status, body: { error: { code, message: `${code} from the fake`, traceId: 't', ...(details ? { details } : {}) } } });
const reservation = { reservationId: 'res_01TESTTESTTEST', walletId: 'wal_1', instanceId: 'inst_01TESTTESTTEST', runId: 'run_01TESTTESTTEST', amount: 10, status: 'open', expiresAt: '2030-01-01T00:00:00Z', createdAt: '2030-01-01T00:00:00Z' };
const authorize = () => client.authorize({ instanceId: 'inst_01TESTTESTTEST', estimatedBudget: 10, runId: 'run_01TESTTESTTEST' }, { requestId: 'req-trace-1' });
const rejects = async (p: Promise<unknown>, code: string, status: number) => {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return true;
  });
};

test('authorize is retried on 502/503/504 up to 3 attempts, each with Idempotency-Key authz:<runId>, the request id and the service token', async () => {
  script = (_r, n) => (n < 3 ? problem(n === 1 ? 503 : 502, 'DEPENDENCY_UNAVAILABLE') : { status: 201, body: reservation });
  const r = await authorize();
  assert.equal(r.body.reservationId, reservation.reservationId);
  assert.equal(seen.length, 3);
  for (const s of seen) {
    assert.equal(s.headers['idempotency-key'], 'authz:run_01TESTTESTTEST');
    assert.equal(s.headers['x-request-id'], 'req-trace-1');
    assert.equal(s.headers.authorization, 'Bearer svc-token-' + tokenSerial);
    assert.equal(s.url, '/billing/authorize');
  }
  assert.equal(sleeps.length, 2, 'a backoff before each retry');
  assert.ok(sleeps[1]! > sleeps[0]!, `exponential: ${sleeps}`);
  assert.ok(sleeps.every((ms) => ms < 200), `short: ${sleeps}`);
});

test('authorize gives up after 3 attempts and fails closed with 503 CONTROL_PLANE_UNAVAILABLE; a 500 is not retried', async () => {
  script = () => problem(503, 'DEPENDENCY_UNAVAILABLE');
  await rejects(authorize(), 'CONTROL_PLANE_UNAVAILABLE', 503);
  assert.equal(seen.length, 3);
  seen = [];
  script = () => problem(500, 'INTERNAL');
  await rejects(authorize(), 'CONTROL_PLANE_UNAVAILABLE', 503);
  assert.equal(seen.length, 1);
});

test('final answers pass through untouched: 403 INSUFFICIENT_CREDITS keeps balance and requiredBudget; 404 stays 404', async () => {
  script = () => problem(403, 'INSUFFICIENT_CREDITS', { balance: 3, available: 3, requiredBudget: 10 });
  await assert.rejects(authorize(), (err: AppError) => {
    assert.equal(err.code, 'INSUFFICIENT_CREDITS');
    assert.equal(err.status, 403);
    assert.deepEqual(err.details, { balance: 3, available: 3, requiredBudget: 10 });
    return true;
  });
  assert.equal(seen.length, 1, 'never retried');
  seen = [];
  script = () => problem(404, 'NOT_FOUND');
  await rejects(client.getEntitlements('inst_x', { kind: 'bearer', token: 'user-jwt' }, { requestId: 'r' }), 'NOT_FOUND', 404);
  assert.equal(seen.length, 1);
});

test('a concurrent duplicate (409 IDEMPOTENCY_IN_PROGRESS) is retried, other 409s are final', async () => {
  script = (_r, n) => (n === 1 ? problem(409, 'IDEMPOTENCY_IN_PROGRESS') : { status: 201, body: reservation });
  assert.equal((await authorize()).body.reservationId, reservation.reservationId);
  assert.equal(seen.length, 2);
});

test('settle is retried up to 5 attempts on 5xx and timeouts (idempotent by reservationId), then fails closed', async () => {
  script = (_r, n) => (n === 1 ? problem(500, 'INTERNAL') : n === 2 ? { status: 0, hang: true } : n < 5 ? problem(504, 'DEPENDENCY_TIMEOUT') : { status: 200, body: { reservationId: 'res_1', ledgerEntryId: 'led_1' } });
  const s = await client.settle({ reservationId: 'res_01TESTTESTTEST', runId: 'run_01TESTTESTTEST', usage: { tokens_in: 5 } }, { requestId: 'req-settle' });
  assert.equal(s.ledgerEntryId, 'led_1');
  assert.equal(seen.length, 5);
  assert.ok(seen.every((x) => x.headers['x-request-id'] === 'req-settle' && JSON.parse(x.body).reservationId === 'res_01TESTTESTTEST'));
  seen = [];
  script = () => problem(503, 'DEPENDENCY_UNAVAILABLE');
  await rejects(client.void({ reservationId: 'res_01TESTTESTTEST', reason: 'run_failed' }, { requestId: 'r' }), 'CONTROL_PLANE_UNAVAILABLE', 503);
  assert.equal(seen.length, 5);
});

test('an unreachable control plane fails closed after the retries', async () => {
  const dead = createControlPlaneClient({ baseUrl: () => 'http://127.0.0.1:1', http, tokens: { token: async () => 't', invalidate() {} }, sleep: async () => {} });
  await rejects(dead.authorize({ instanceId: 'inst_01TESTTESTTEST', estimatedBudget: 1, runId: 'run_01TESTTESTTEST' }, { requestId: 'r' }), 'CONTROL_PLANE_UNAVAILABLE', 503);
  await rejects(dead.getEntitlements('inst_x', { kind: 'service' }, { requestId: 'r' }), 'CONTROL_PLANE_UNAVAILABLE', 503);
});

test('a 401 on the gateway\'s own token refreshes it once; a forwarded user credential\'s 401 passes through', async () => {
  script = (r) => (r.headers.authorization === 'Bearer svc-token-' + tokenSerial && tokenInvalidations > 0 ? { status: 201, body: reservation } : problem(401, 'UNAUTHENTICATED'));
  assert.equal((await authorize()).body.reservationId, reservation.reservationId);
  assert.equal(tokenInvalidations, 1);
  seen = [];
  script = () => problem(401, 'UNAUTHENTICATED');
  await rejects(client.getEntitlements('inst_x', { kind: 'apiKey', key: 'ask_revoked' }, { requestId: 'r' }), 'UNAUTHENTICATED', 401);
  assert.equal(seen[0]!.headers['x-api-key'], 'ask_revoked');
  assert.equal(seen[0]!.headers.authorization, undefined, 'the caller\'s key, not the gateway\'s token');
});

test('connections are kept alive: sequential calls reuse one socket', async () => {
  script = () => ({ status: 201, body: reservation });
  for (let i = 0; i < 20; i++) await authorize();
  assert.equal(connections, 1, `${connections} connections for 20 calls`);
  assert.equal(http.socketsCreated, 1);
});
