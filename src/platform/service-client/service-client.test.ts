/**
 * The service-client wrapper over a generated client (the Control Plane's BillingApi / CatalogApi)
 * against a scripted server: reads are retried, writes only with an Idempotency-Key or when the
 * callee deduplicates them, per-attempt timeouts, caller aborts, canonical errors with their
 * status and Retry-After, keep-alive, and the same through an injected WHATWG fetch.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { BillingApi, CatalogApi, Configuration } from '../../../generated/clients/control-plane';
import { createHttpClient, type HttpClient } from './http-json';
import { createServiceClient, ServiceCallError, type ClientConfig, type Operation, type RetryPolicy, type ServiceClient } from './index';

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }
let server: Server;
let base: string;
let seen: Seen[] = [];
let connections = 0;
let script: (n: number) => { status: number; body?: unknown; headers?: Record<string, string>; hang?: boolean } = () => ({ status: 200, body: {} });
let http: HttpClient;
let client: ServiceClient;

before(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    const a = script(seen.length);
    if (a.hang) return;
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
    res.end(a.body === undefined ? '' : JSON.stringify(a.body));
  });
  server.on('connection', () => connections++);
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
  connections = 0;
  http?.close();
  http = createHttpClient();
  client = createServiceClient({ baseUrl: () => base, http, tokens: { token: async () => 'svc', invalidate() {} }, sleep: async () => {} });
});

const billing = (c: ClientConfig) => new BillingApi(new Configuration(c));
const catalog = (c: ClientConfig) => new CatalogApi(new Configuration(c));
const policy: RetryPolicy = { attempts: 3, baseDelayMs: 1, timeoutMs: 300, retryStatus: new Set([502, 503, 504]) };
const problem = (status: number, code: string, headers?: Record<string, string>) => ({ status, headers, body: { error: { code, message: `${code} from the fake`, details: { why: 'test' }, traceId: 't' } } });
const offering = { id: 'off_1', slug: 's' };
const getOffering = (op: Partial<Operation> = {}, signal?: AbortSignal) =>
  client.call(catalog, (a) => a.getOfferingRaw({ offeringId: 'off_01TESTTESTTEST' }), { operationId: 'getOffering', kind: 'read', credential: { kind: 'none' }, policy, ...op }, { requestId: 'req-1', signal });
const settle = (op: Partial<Operation> = {}) =>
  client.call(billing, (a) => a.settleReservationRaw({ settleRequest: { reservationId: 'res_01TESTTESTTEST', runId: 'run_01TESTTESTTEST', usage: { tokens_in: 3 } } }), { operationId: 'settleReservation', kind: 'write', credential: { kind: 'service' }, policy, ...op }, { requestId: 'req-2' });
const failsWith = async (p: Promise<unknown>, check: (e: ServiceCallError) => void) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ServiceCallError, String(e));
    check(e);
    return true;
  });

test('a read goes to the path the generated client names, with X-Request-Id, and is retried on 503 then succeeds', async () => {
  script = (n) => (n < 3 ? problem(503, 'DEPENDENCY_UNAVAILABLE') : { status: 200, body: offering });
  const res = await getOffering();
  assert.deepEqual(res.body, offering);
  assert.equal(seen.length, 3);
  assert.ok(seen.every((s) => s.method === 'GET' && s.url === '/offerings/off_01TESTTESTTEST' && s.headers['x-request-id'] === 'req-1' && !s.headers.authorization));
});

test('a write without an Idempotency-Key gets exactly one attempt, even on 503 or a timeout', async () => {
  script = () => problem(503, 'WALLET_BUSY', { 'retry-after': '2' });
  await failsWith(settle(), (e) => {
    assert.equal(e.kind, 'answer');
    assert.equal(e.status, 503);
    assert.equal(e.code, 'WALLET_BUSY');
    assert.deepEqual(e.extra.headers, { 'Retry-After': '2' }, 'Retry-After is kept for the caller');
    assert.deepEqual(e.extra.details, { why: 'test' });
  });
  assert.equal(seen.length, 1);
  seen = [];
  script = () => ({ status: 0, hang: true });
  await failsWith(settle(), (e) => assert.equal(e.extra.transport, 'timeout'));
  assert.equal(seen.length, 1);
});

test('a write with an Idempotency-Key (or deduplicated by the callee) is retried, sending the same key and body each time', async () => {
  script = (n) => (n < 3 ? problem(502, 'DEPENDENCY_UNAVAILABLE') : { status: 200, body: { reservationId: 'res_1', ledgerEntryId: 'led_1' } });
  const res = await settle({ idempotencyKey: 'settle:res_1' });
  assert.equal(res.status, 200);
  assert.equal(seen.length, 3);
  assert.ok(seen.every((s) => s.method === 'POST' && s.url === '/billing/settle' && s.headers['idempotency-key'] === 'settle:res_1' && s.headers.authorization === 'Bearer svc'));
  assert.equal(new Set(seen.map((s) => s.body)).size, 1);
  assert.deepEqual(JSON.parse(seen[0]!.body).usage, { tokens_in: 3 });
  seen = [];
  script = (n) => (n < 2 ? problem(504, 'DEPENDENCY_TIMEOUT') : { status: 200, body: {} });
  await settle({ idempotent: true });
  assert.equal(seen.length, 2);
});

test('final answers are not retried; an answer that is not the canonical body has no code', async () => {
  script = () => problem(404, 'NOT_FOUND');
  await failsWith(getOffering(), (e) => assert.deepEqual([e.status, e.code], [404, 'NOT_FOUND']));
  assert.equal(seen.length, 1);
  seen = [];
  script = () => ({ status: 409, body: { error: { code: 'SOMETHING_ELSE', message: 'x' } } });
  await failsWith(getOffering(), (e) => assert.deepEqual([e.status, e.code], [409, undefined]));
});

test('retryIf retries a chosen answer (409 IDEMPOTENCY_IN_PROGRESS)', async () => {
  script = (n) => (n === 1 ? problem(409, 'IDEMPOTENCY_IN_PROGRESS') : { status: 200, body: {} });
  await settle({ idempotencyKey: 'k', retryIf: (e) => e.code === 'IDEMPOTENCY_IN_PROGRESS' });
  assert.equal(seen.length, 2);
});

test('the caller\'s signal ends the call at once and is never retried', async () => {
  script = () => ({ status: 0, hang: true });
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 30);
  await failsWith(getOffering({ policy: { ...policy, timeoutMs: 5_000 } }, ctl.signal), (e) => assert.equal(e.kind, 'aborted'));
  assert.equal(seen.length, 1);
});

test('a 401 on the service token drops it and tries once more (not counted as an attempt)', async () => {
  let invalidated = 0;
  client = createServiceClient({ baseUrl: () => base, http, tokens: { token: async () => `svc-${invalidated}`, invalidate: () => void invalidated++ }, sleep: async () => {} });
  script = (n) => (n === 1 ? problem(401, 'UNAUTHENTICATED') : { status: 200, body: {} });
  await settle();
  assert.equal(invalidated, 1);
  assert.deepEqual(seen.map((s) => s.headers.authorization), ['Bearer svc-0', 'Bearer svc-1']);
});

test('keep-alive: twenty calls share one connection', async () => {
  script = () => ({ status: 200, body: offering });
  for (let i = 0; i < 20; i++) await getOffering();
  assert.equal(connections, 1);
  assert.equal(http.socketsCreated, 1);
});

test('the same through an injected fetch (timeouts and answers mapped alike)', async () => {
  client = createServiceClient({ baseUrl: () => base, fetch, sleep: async () => {} });
  script = (n) => (n === 1 ? problem(503, 'DEPENDENCY_UNAVAILABLE') : { status: 200, body: offering });
  assert.deepEqual((await getOffering()).body, offering);
  seen = [];
  script = () => ({ status: 0, hang: true });
  await failsWith(getOffering({ policy: { ...policy, attempts: 1, timeoutMs: 100 } }), (e) => assert.equal(e.extra.transport, 'timeout'));
});
