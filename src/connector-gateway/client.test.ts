/**
 * The Runner's Connector Gateway client (client.ts) against a scripted server: both tool calls go
 * to the paths the generated client names with the service token and X-Request-Id, get one
 * attempt (a 503 is not retried), renew the token once on 401, rethrow canonical errors with their
 * code and status, map the gateway unreachable to 503 DEPENDENCY_UNAVAILABLE and let the caller's
 * abort through as the transport's `aborted` error.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { AppError } from '../platform/errors';
import { createHttpClient, TransportError, type HttpClient } from '../platform/service-client/http-json';
import type { ToolInvoker } from '../runtime/types';
import { connectorGatewayToolInvoker } from './client';

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: any }
let server: Server;
let base: string;
let seen: Seen[] = [];
let script: (n: number) => { status: number; body?: unknown; hang?: boolean } = () => ({ status: 200, body: {} });
let http: HttpClient;
let invalidated = 0;
let tools: ToolInvoker;

before(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: body ? JSON.parse(body) : undefined });
    const a = script(seen.length);
    if (a.hang) return;
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(a.body === undefined ? '' : JSON.stringify(a.body));
  });
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
  invalidated = 0;
  http?.close();
  http = createHttpClient();
  tools = connectorGatewayToolInvoker({ baseUrl: () => `${base}/`, http, tokens: { token: async () => `svc-${invalidated}`, invalidate: () => void invalidated++ }, timeoutMs: 2_000 });
});

const scope = { instanceId: 'inst_01TESTTESTTEST', runId: 'run_01TESTTESTTEST' };
const problem = (status: number, code: string) => ({ status, body: { error: { code, message: `${code} from the fake`, details: { why: 'test' }, traceId: 't' } } });
const invokeResult = { tool: 'http.get', bindingId: 'bnd_1', kind: 'read', output: { status: 200 }, attempts: 1, durationMs: 3 };

test('invokeTool: POST /v1/tools/invoke with the service token, X-Request-Id and the run ids; the answer is the tool output', async () => {
  script = () => ({ status: 200, body: invokeResult });
  const out = await tools.invoke('http.get', 'bnd_1', { url: 'https://x' }, { scope, requestId: 'req-t' });
  assert.deepEqual(out, { status: 200 });
  const s = seen[0]!;
  assert.deepEqual([s.method, s.url, s.headers.authorization, s.headers['x-request-id']], ['POST', '/v1/tools/invoke', 'Bearer svc-0', 'req-t']);
  assert.deepEqual(s.body, { instanceId: scope.instanceId, tool: 'http.get', bindingId: 'bnd_1', input: { url: 'https://x' }, runId: scope.runId });
});

test('callMcpTool: POST /v1/mcp/tools/call; content, isError and structuredContent come back', async () => {
  script = () => ({ status: 200, body: { content: [{ type: 'text', text: 'ok' }], isError: false, structuredContent: { n: 1 } } });
  const out = await tools.callMcp!('crm', 'lookup', { id: 7 }, { scope });
  assert.deepEqual(out, { content: [{ type: 'text', text: 'ok' }], isError: false, structuredContent: { n: 1 } });
  assert.deepEqual([seen[0]!.url, seen[0]!.body], ['/v1/mcp/tools/call', { instanceId: scope.instanceId, server: 'crm', tool: 'lookup', arguments: { id: 7 }, runId: scope.runId }]);
  assert.equal(seen[0]!.headers['x-request-id'], undefined);
});

test('a write gets one attempt: a canonical 503 is rethrown with its code and status, not retried', async () => {
  script = () => problem(503, 'VAULT_UNAVAILABLE');
  await assert.rejects(tools.invoke('slack.post_message', 'bnd_1', {}, { scope }), (e: unknown) => e instanceof AppError && e.code === 'VAULT_UNAVAILABLE' && e.status === 503 && (e.details as { why?: string })?.why === 'test');
  assert.equal(seen.length, 1);
  seen = [];
  script = () => problem(403, 'POLICY_DENIED');
  await assert.rejects(tools.callMcp!('crm', 'drop', {}, { scope }), (e: unknown) => e instanceof AppError && e.code === 'POLICY_DENIED' && e.status === 403);
});

test('a 401 renews the service token once; a second 401 is rethrown', async () => {
  script = (n) => (n === 1 ? problem(401, 'UNAUTHENTICATED') : { status: 200, body: invokeResult });
  await tools.invoke('http.get', 'bnd_1', {}, { scope });
  assert.deepEqual(seen.map((s) => s.headers.authorization), ['Bearer svc-0', 'Bearer svc-1']);
  seen = [];
  script = () => problem(401, 'UNAUTHENTICATED');
  await assert.rejects(tools.invoke('http.get', 'bnd_1', {}, { scope }), (e: unknown) => e instanceof AppError && e.code === 'UNAUTHENTICATED');
  assert.equal(seen.length, 2);
});

test('an answer that is not the canonical error, or no answer at all, is 503 DEPENDENCY_UNAVAILABLE', async () => {
  script = () => ({ status: 502, body: { oops: true } });
  await assert.rejects(tools.invoke('http.get', 'bnd_1', {}, { scope }), (e: unknown) => e instanceof AppError && e.code === 'DEPENDENCY_UNAVAILABLE' && e.status === 503);
  const down = connectorGatewayToolInvoker({ baseUrl: () => 'http://127.0.0.1:1', http, tokens: { token: async () => 'svc', invalidate() {} } });
  await assert.rejects(down.invoke('http.get', 'bnd_1', {}, { scope }), (e: unknown) => e instanceof AppError && e.code === 'DEPENDENCY_UNAVAILABLE' && e.status === 503);
});

test('the caller\'s abort passes through as the transport\'s aborted error', async () => {
  script = () => ({ status: 0, hang: true });
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 30);
  await assert.rejects(tools.invoke('http.get', 'bnd_1', {}, { scope, signal: ctl.signal }), (e: unknown) => e instanceof TransportError && e.kind === 'aborted');
  assert.equal(seen.length, 1);
});
