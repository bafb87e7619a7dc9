/**
 * The service-client wrapper over a generated client (the Control Plane's BillingApi / CatalogApi)
 * against a scripted server: reads are retried, writes only with an Idempotency-Key or when the
 * callee deduplicates them, per-attempt timeouts, caller aborts, canonical errors with their
 * status and Retry-After, keep-alive, and the same through an injected WHATWG fetch; the streamed
 * mode over the Runner's ExecutionApi (body read as it arrives, errors, abort, timeout).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { BillingApi, CatalogApi, Configuration } from '../../../generated/clients/control-plane';
import { Configuration as RunnerConfiguration, ExecutionApi } from '../../../generated/clients/runner';
import { createHttpClient, TransportError, type HttpClient } from './http-json';
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

// ── streamed mode (the Runner's executeRun with Accept: text/event-stream) ──

const runBody = { instanceId: 'inst_01TESTTESTTEST', runId: 'run_01TESTTESTTEST', flowId: 'f', artifact: { uri: 'u', sha256: 'a'.repeat(64) }, input: { text: 'hi' } };
const executeRun = (c: ClientConfig) => new ExecutionApi(new RunnerConfiguration(c));
const runOp: Operation = { operationId: 'executeRun', kind: 'write', credential: { kind: 'service' }, policy: { ...policy, timeoutMs: 2_000 } };
const streamRun = (signal?: AbortSignal) => client.stream(executeRun, (a) => a.executeRunRaw({ runnerRunRequest: runBody as never }), runOp, { requestId: 'req-s', signal });

/** A server whose /v1/runs answers SSE: one event now, the rest when `release` is called. */
async function sseServer(): Promise<{ base: string; release: () => void; closed: Promise<void>; seen: Seen[]; stop: () => Promise<void> }> {
  const got: Seen[] = [];
  let release = () => {};
  let closedResolve = () => {};
  const closed = new Promise<void>((r) => (closedResolve = r));
  const s = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    got.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    res.on('close', () => closedResolve());
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('event: delta\ndata: {"text":"Hel"}\n\n');
    release = () => res.end('event: result\ndata: {"output":{"text":"Hello"}}\n\n');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    release: () => release(),
    closed,
    seen: got,
    stop: async () => {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    },
  };
}

test('a streamed call resolves at the headers with the body unread, on the path the generated client names, with Accept: text/event-stream', async () => {
  const sse = await sseServer();
  try {
    client = createServiceClient({ baseUrl: () => sse.base, http, tokens: { token: async () => 'svc', invalidate() {} } });
    const res = await streamRun();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const first = await new Promise<string>((r) => res.body.once('data', (c: Buffer) => r(c.toString('utf8'))));
    assert.match(first, /event: delta/, 'the first event arrives before the answer is complete');
    sse.release();
    let rest = '';
    for await (const c of res.body) rest += c;
    assert.match(rest, /event: result/);
    const s = sse.seen[0]!;
    assert.deepEqual([s.method, s.url, s.headers.accept, s.headers.authorization, s.headers['x-request-id']], ['POST', '/v1/runs', 'text/event-stream', 'Bearer svc', 'req-s']);
    assert.equal(JSON.parse(s.body).runId, 'run_01TESTTESTTEST');
  } finally {
    await sse.stop();
  }
});

test('a streamed call: an error answer before the stream is a ServiceCallError with its code and Retry-After; a write gets one attempt', async () => {
  script = () => problem(429, 'RATE_LIMITED', { 'retry-after': '7' });
  await failsWith(streamRun(), (e) => {
    assert.deepEqual([e.kind, e.status, e.code], ['answer', 429, 'RATE_LIMITED']);
    assert.deepEqual(e.extra.headers, { 'Retry-After': '7' });
  });
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.headers.accept, 'text/event-stream');
});

test('a streamed call: the caller\'s signal destroys the request mid-stream (the callee sees the disconnect); the body errors with `aborted`', async () => {
  const sse = await sseServer();
  try {
    client = createServiceClient({ baseUrl: () => sse.base, http, tokens: { token: async () => 'svc', invalidate() {} } });
    const ctl = new AbortController();
    const res = await streamRun(ctl.signal);
    const failed = new Promise<unknown>((r) => res.body.once('error', r));
    res.body.resume();
    ctl.abort();
    const err = await failed;
    assert.ok(err instanceof TransportError && err.kind === 'aborted', String(err));
    await sse.closed;
  } finally {
    await sse.stop();
  }
});

test('a streamed call: no answer within the timeout is a transport timeout; no transport is refused', async () => {
  script = () => ({ status: 0, hang: true });
  await failsWith(client.stream(executeRun, (a) => a.executeRunRaw({ runnerRunRequest: runBody as never }), { ...runOp, policy: { ...policy, timeoutMs: 100 } }, {}), (e) => assert.equal(e.extra.transport, 'timeout'));
  const viaFetch = createServiceClient({ baseUrl: () => base, fetch });
  await assert.rejects(viaFetch.stream(executeRun, (a) => a.executeRunRaw({ runnerRunRequest: runBody as never }), runOp, {}), /keep-alive transport/);
});
