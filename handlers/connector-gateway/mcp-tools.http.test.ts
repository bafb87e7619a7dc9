/**
 * MCP tools through the Connector Gateway, over HTTP, against an MCP server built with the same
 * SDK (test/support/mcp-server.ts, HTTPS) and the real Control Plane with a local KV v2 Vault:
 * list, a read tool (retried on a transient failure), a write tool (never retried), a tool off
 * `allowedTools` (nothing sent), private and rebinding addresses (refused), the credential seen by
 * the server and in no answer or log line, server down → 502 naming it, `callTimeoutMs`,
 * `maxCallsPerRun` (also under concurrency), another tenant's instance → 404, the SSE transport,
 * Vault down (fail closed), the audit log, and a run on the built-in runtime whose tool node calls
 * an MCP tool, metered as `mcp_calls`.
 */
import assert from 'node:assert/strict';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { meterRun } from '../../src/capabilities/metering';
import type { Resolver } from '../../src/platform/net-guard';
import { REDACTED_PATHS } from '../../src/platform/logger';
import { flowEdge, flowExport, flowNode } from '../../src/runtime/testing';
import { validCapabilities, validPlans } from '../../test/support/catalog';
import { buyer, ledger, waitFor, type Buyer } from '../../test/support/gateway';
import { startMcpServer, type TestMcpServer } from '../../test/support/mcp-server';
import { http, startTestStack, type TestStack } from '../../test/support/stack';
import { startFakeVault, type FakeVault } from '../../test/support/vault-kv-server';

const SECRET = 'mcp_live_token_do_not_leak_4242';
const PUBLIC = '93.184.216.34';
const ALL_TOOLS = ['lookup_customer', 'whoami', 'update_deal', 'delete_customer', 'contradictory', 'slow_report', 'broken'];
const CAPABILITIES = [...validCapabilities, { id: 'mcp_tools', v: 1, defaults: {} }];

let rebindLookups = 0;
const resolver: Resolver = async (host) => {
  if (['mcp.acme.example', 'sse.acme.example', 'down.acme.example'].includes(host)) return [{ address: PUBLIC, family: 4 }];
  if (host === 'internal.acme.example') return [{ address: '10.0.0.7', family: 4 }];
  // Public when first asked, then the cloud metadata address (DNS rebinding).
  if (host === 'rebind.acme.example') return [{ address: rebindLookups++ === 0 ? PUBLIC : '169.254.169.254', family: 4 }];
  throw new Error('ENOTFOUND');
};

const runId = () => `run_${Math.random().toString(36).slice(2, 12)}${Date.now().toString(36)}`;

describe('MCP tools through the connector gateway', () => {
  let vault: FakeVault;
  let mcp: TestMcpServer;
  let stack: TestStack;
  let cp: string;
  let cg: string;
  let runner: string;
  let ann: Buyer;
  let annBinding: string;
  let versionId: string;
  let inst: string;
  let downPort: number;
  const logLines: string[] = [];

  const url = (host: string, path = '/mcp', port = mcp.port) => `https://${host}:${port}${path}`;

  function servers(bindingId: string) {
    return [
      { name: 'crm', url: url('mcp.acme.example'), bindingId, allowedTools: ALL_TOOLS },
      { name: 'legacy', url: url('sse.acme.example', '/sse'), transport: 'sse', bindingId, allowedTools: ['lookup_customer'] },
      { name: 'locked', url: url('mcp.acme.example'), bindingId, allowedTools: [] },
      { name: 'internal', url: url('internal.acme.example'), bindingId, allowedTools: ['lookup_customer'] },
      { name: 'rebind', url: url('rebind.acme.example'), bindingId, allowedTools: ['lookup_customer'] },
      { name: 'down', url: url('down.acme.example', '/mcp', downPort), bindingId, allowedTools: ['lookup_customer'] },
      { name: 'anonymous', url: url('mcp.acme.example'), allowedTools: ['whoami'] },
    ];
  }

  async function instanceWith(who: Buyer, mcpTools: Record<string, unknown>): Promise<string> {
    // Paid plan and network fields: set by a platform operator acting as the same user.
    const created = await http('POST', `${cp}/instances`, {
      token: await stack.userToken(who.email, ['platform-operator']),
      headers: { 'idempotency-key': `inst-${Math.random().toString(36).slice(2)}` },
      body: { projectId: who.projectId, offeringVersionId: versionId, planId: 'pro', configOverrides: { mcp_tools: mcpTools } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await waitFor('instance active', async () => ((await http('GET', `${cp}/instances/${id}`, { token: who.token })).body.state === 'active' ? true : undefined));
    return id;
  }

  async function bind(who: Buyer, token = SECRET): Promise<string> {
    const r = await http('POST', `${cp}/connectors/bindings`, { token: who.token, body: { connectorId: 'mcp', projectId: who.projectId, name: 'ACME CRM MCP', credential: { token } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id;
  }

  function call(body: Record<string, unknown>, instanceId = inst) {
    return http('POST', `${cg}/v1/mcp/tools/call`, { token: runner, body: { instanceId, arguments: {}, runId: runId(), ...body } });
  }

  const vaultReads = () => vault.requests.filter((q) => q.method === 'GET').length;

  before(async () => {
    vault = await startFakeVault();
    mcp = await startMcpServer(['mcp.acme.example', 'sse.acme.example', 'rebind.acme.example', 'internal.acme.example', 'down.acme.example']);
    const probe = createTcpServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    downPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } });
    const log = pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
    stack = await startTestStack(['control-plane', 'connector-gateway', 'runner', 'gateway'], { SEED_DEMO: '0', VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken }, {
      log,
      connectorGateway: { resolver, dial: () => '127.0.0.1', ca: mcp.ca, backoffMs: () => 1 },
    });
    cp = stack.url('control-plane');
    cg = stack.url('connector-gateway');
    runner = await stack.serviceToken('runner');

    // A published offering whose flow calls an MCP tool: ChatInput → ToolCall(crm.lookup_customer) → Prompt → model → ChatOutput.
    const input = flowNode('ChatInput-1', 'ChatInput');
    const tool = flowNode('ToolCall-1', 'ToolCall', { mcp_server: 'crm', tool: 'lookup_customer', arguments: { email: '{input}' } }, ['result']);
    const prompt = flowNode('Prompt-1', 'Prompt', { template: 'CRM: {crm}\nQuestion: {question}' }, ['prompt']);
    const model = flowNode('Model-1', 'DeterministicModel', {}, ['text_output']);
    const out = flowNode('ChatOutput-1', 'ChatOutput');
    const flow = flowExport([input, tool, prompt, model, out], [
      flowEdge(input, tool, 'input_value'), flowEdge(tool, prompt, 'crm', 'result'), flowEdge(input, prompt, 'question'),
      flowEdge(prompt, model, 'input_value', 'prompt'), flowEdge(model, out, 'input_value', 'text_output'),
    ]);
    const publisher = await stack.userToken('pub-mcp@example.com', ['publisher-admin']);
    const offering = await http('POST', `${cp}/offerings`, { token: publisher, body: { slug: 'crm-mcp-assistant', name: 'CRM assistant', category: 'assistants', summary: 'Answers with CRM data over MCP.', valueStreams: ['customer_support'] } });
    assert.equal(offering.status, 201, JSON.stringify(offering.body));
    const version = await http('POST', `${cp}/offerings/${offering.body.id}/versions`, { token: publisher, body: { version: '1.0.0', flow, capabilities: CAPABILITIES, plans: validPlans } });
    assert.equal(version.status, 201, JSON.stringify(version.body));
    versionId = version.body.id;
    const certified = await http('POST', `${cp}/offerings/${offering.body.id}/versions/${versionId}/certify`, { token: publisher });
    assert.equal(certified.body.status, 'passed', JSON.stringify(certified.body));
    const live = await http('POST', `${cp}/offerings/${offering.body.id}/transitions`, { token: publisher, body: { to: 'published', versionId } });
    assert.equal(live.status, 200, JSON.stringify(live.body));

    ann = await buyer(stack, 'ann-mcp@example.com');
    annBinding = await bind(ann);
    inst = await instanceWith(ann, { servers: servers(annBinding), maxCallsPerRun: 3, callTimeoutMs: 4000 });
  });
  after(async () => {
    await stack?.close();
    await mcp?.close();
    await vault?.close();
  });

  test('list: the server\'s tools with the kind the annotations give and whether the instance allows them; the server saw the bearer credential', async () => {
    const before = mcp.seen.length;
    const r = await http('GET', `${cg}/v1/instances/${inst}/mcp-servers/crm/tools`, { token: ann.token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.server, 'crm');
    assert.equal(r.body.transport, 'streamable_http');
    assert.deepEqual(r.body.serverInfo, { name: 'acme-crm', version: '2.3.0' });
    const kinds = Object.fromEntries(r.body.tools.map((t: any) => [t.name, t.kind]));
    assert.deepEqual(kinds, { lookup_customer: 'read', whoami: 'read', update_deal: 'write', delete_customer: 'write', contradictory: 'write', slow_report: 'read', broken: 'read' });
    const lookup = r.body.tools.find((t: any) => t.name === 'lookup_customer');
    assert.equal(lookup.allowed, true);
    assert.deepEqual(lookup.inputSchema.required, ['email']);
    assert.equal(lookup.annotations.readOnlyHint, true);
    const locked = await http('GET', `${cg}/v1/instances/${inst}/mcp-servers/locked/tools`, { token: runner });
    assert.equal(locked.status, 200);
    assert.ok(locked.body.tools.every((t: any) => t.allowed === false), 'empty allowedTools allows none');
    const reached = mcp.seen.slice(before);
    assert.ok(reached.some((s) => s.rpcMethod === 'initialize') && reached.some((s) => s.rpcMethod === 'tools/list'));
    assert.ok(reached.every((s) => s.authorization === `Bearer ${SECRET}`), 'every request carried the binding credential');
    for (const a of [r, locked]) assert.ok(!JSON.stringify(a.body).includes(SECRET));
    const unknown = await http('GET', `${cg}/v1/instances/${inst}/mcp-servers/nope/tools`, { token: ann.token });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.details.server, 'nope');
  });

  test('a read tool answers its content; a transient 503 is retried and the tool runs once', async () => {
    const ok = await call({ server: 'crm', tool: 'lookup_customer', arguments: { email: 'ann@example.com' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.kind, 'read');
    assert.equal(ok.body.attempts, 1);
    assert.equal(ok.body.isError, false);
    assert.deepEqual(ok.body.content, [{ type: 'text', text: 'Customer ann@example.com: plan Pro, since 2021' }]);
    assert.deepEqual(ok.body.structuredContent, { email: 'ann@example.com', plan: 'Pro' });
    assert.match(ok.body.auditEventId, /^evt_/);

    const sent = mcp.calls('lookup_customer');
    const ran = mcp.executed.lookup_customer!;
    mcp.failNext('tools/call', 2, 503, 'lookup_customer');
    const retried = await call({ server: 'crm', tool: 'lookup_customer', arguments: { email: 'bob@example.com' } });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.body.attempts, 3);
    assert.equal(mcp.calls('lookup_customer') - sent, 3, 'three tools/call requests reached the server');
    assert.equal(mcp.executed.lookup_customer! - ran, 1, 'the tool itself ran once');

    mcp.failNext('tools/call', 4, 503, 'lookup_customer');
    const exhausted = await call({ server: 'crm', tool: 'lookup_customer', arguments: { email: 'cy@example.com' } });
    assert.equal(exhausted.status, 502, JSON.stringify(exhausted.body));
    assert.equal(exhausted.body.error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(exhausted.body.error.details.server, 'crm');
    assert.equal(exhausted.body.error.details.attempts, 4, 'a read: 1 + 3 retries');
  });

  test('write tools (annotated, unannotated, contradictory, or made stricter with kind: write) facing a 503 are sent exactly once', async () => {
    for (const [tool, args, kind] of [
      ['update_deal', { dealId: 'd1', stage: 'won' }, undefined],
      ['delete_customer', { email: 'x@example.com' }, undefined],
      ['contradictory', {}, undefined],
      ['lookup_customer', { email: 'w@example.com' }, 'write'],
    ] as const) {
      const before = mcp.calls(tool);
      mcp.failNext('tools/call', 1, 503, tool);
      const r = await call({ server: 'crm', tool, arguments: args, ...(kind ? { kind } : {}) });
      assert.equal(r.status, 502, `${tool}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.details.server, 'crm');
      assert.equal(r.body.error.details.attempts, 1);
      assert.equal(mcp.calls(tool) - before, 1, `${tool} was not retried`);
    }
    const ok = await call({ server: 'crm', tool: 'update_deal', arguments: { dealId: 'd1', stage: 'won' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.kind, 'write');
    assert.deepEqual(ok.body.content, [{ type: 'text', text: 'Deal d1 moved to won' }]);
  });

  test('a tool off allowedTools, or on a server the instance does not name, is refused before anything is sent or read', async () => {
    const seen = mcp.seen.length;
    const reads = vaultReads();
    const off = await call({ server: 'locked', tool: 'lookup_customer', arguments: { email: 'a@example.com' } });
    assert.equal(off.status, 403, JSON.stringify(off.body));
    assert.equal(off.body.error.code, 'POLICY_DENIED');
    assert.deepEqual(off.body.error.details, { server: 'locked', tool: 'lookup_customer', reason: 'tool_not_allowed' });
    const legacyOff = await call({ server: 'legacy', tool: 'delete_customer', arguments: { email: 'a@example.com' } });
    assert.equal(legacyOff.body.error.details.reason, 'tool_not_allowed');
    const unknown = await call({ server: 'elsewhere', tool: 'lookup_customer' });
    assert.equal(unknown.status, 403);
    assert.equal(unknown.body.error.details.reason, 'server_not_configured');
    assert.equal(mcp.seen.length, seen, 'nothing reached the MCP server');
    assert.equal(vaultReads(), reads, 'no secret was read');
  });

  test('a server resolving to a private address is refused before the secret is read; a DNS answer turning private is refused at connect', async () => {
    const seen = mcp.seen.length;
    const reads = vaultReads();
    const internal = await call({ server: 'internal', tool: 'lookup_customer', arguments: { email: 'a@example.com' } });
    assert.equal(internal.status, 403, JSON.stringify(internal.body));
    assert.equal(internal.body.error.details.reason, 'private_network');
    assert.equal(internal.body.error.details.server, 'internal');
    assert.equal(vaultReads(), reads, 'no secret was read for a private target');
    const listInternal = await http('GET', `${cg}/v1/instances/${inst}/mcp-servers/internal/tools`, { token: ann.token });
    assert.equal(listInternal.status, 403);

    rebindLookups = 0;
    const rebound = await call({ server: 'rebind', tool: 'lookup_customer', arguments: { email: 'a@example.com' } });
    assert.equal(rebound.status, 403, JSON.stringify(rebound.body));
    assert.equal(rebound.body.error.code, 'POLICY_DENIED');
    assert.equal(rebound.body.error.details.reason, 'private_network');
    assert.equal(rebound.body.error.details.server, 'rebind');
    assert.ok(rebindLookups >= 2, 'the connection looked the name up again');
    assert.equal(mcp.seen.length, seen, 'nothing reached the server');
  });

  test('the credential reaches the server, its echo is redacted from the answer; a server without binding gets no credential', async () => {
    const r = await call({ server: 'crm', tool: 'whoami' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.content, [{ type: 'text', text: 'you sent Bearer [REDACTED]' }]);
    assert.ok(!JSON.stringify(r.body).includes(SECRET));
    const last = mcp.seen.filter((s) => s.tool === 'whoami').at(-1)!;
    assert.equal(last.authorization, `Bearer ${SECRET}`, 'the server received the binding token');
    const anon = await call({ server: 'anonymous', tool: 'whoami' });
    assert.equal(anon.status, 200, JSON.stringify(anon.body));
    assert.deepEqual(anon.body.content, [{ type: 'text', text: 'you sent nothing' }]);
  });

  test('server down → 502 naming the server (list and call); a tool that fails as a tool answers isError', async () => {
    const down = await call({ server: 'down', tool: 'lookup_customer', arguments: { email: 'a@example.com' } });
    assert.equal(down.status, 502, JSON.stringify(down.body));
    assert.equal(down.body.error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(down.body.error.details.server, 'down');
    assert.equal(down.body.error.details.reason, 'ECONNREFUSED');
    assert.match(down.body.error.message, /down/);
    const list = await http('GET', `${cg}/v1/instances/${inst}/mcp-servers/down/tools`, { token: ann.token });
    assert.equal(list.status, 502);
    assert.equal(list.body.error.details.server, 'down');
    for (const a of [down, list]) assert.ok(!JSON.stringify(a.body).includes(SECRET));

    const broken = await call({ server: 'crm', tool: 'broken' });
    assert.equal(broken.status, 200, JSON.stringify(broken.body));
    assert.equal(broken.body.isError, true);
    assert.match(broken.body.content[0].text, /maintenance/);
    assert.equal(broken.body.attempts, 1, 'a tool error is an answer, not retried');
  });

  test('callTimeoutMs: a read tool slower than the limit → 504 naming the server, not retried', async () => {
    const before = mcp.calls('slow_report');
    const slow = await call({ server: 'crm', tool: 'slow_report', arguments: { ms: 6000 } });
    assert.equal(slow.status, 504, JSON.stringify(slow.body));
    assert.equal(slow.body.error.code, 'DEPENDENCY_TIMEOUT');
    assert.equal(slow.body.error.details.server, 'crm');
    assert.match(slow.body.error.message, /4000 ms/);
    assert.equal(mcp.calls('slow_report') - before, 1);
    const quick = await call({ server: 'crm', tool: 'slow_report', arguments: { ms: 10 } });
    assert.equal(quick.status, 200);
  });

  test('maxCallsPerRun: the 4th call of a run is refused and not sent; concurrent calls of a fresh run get exactly 3 slots; another run is unaffected', async () => {
    const run = runId();
    for (let i = 0; i < 3; i++) assert.equal((await call({ server: 'crm', tool: 'lookup_customer', arguments: { email: `r${i}@example.com` }, runId: run })).status, 200);
    const sent = mcp.calls('lookup_customer');
    const reads = vaultReads();
    const fourth = await call({ server: 'crm', tool: 'lookup_customer', arguments: { email: 'r4@example.com' }, runId: run });
    assert.equal(fourth.status, 403, JSON.stringify(fourth.body));
    assert.equal(fourth.body.error.details.reason, 'max_calls_per_run');
    assert.equal(fourth.body.error.details.maxCallsPerRun, 3);
    assert.equal(mcp.calls('lookup_customer'), sent, 'the refused call was not sent');
    assert.equal(vaultReads(), reads, 'nor was its secret read');

    const burst = runId();
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => call({ server: 'crm', tool: 'lookup_customer', arguments: { email: `b${i}@example.com` }, runId: burst })));
    const refusedByLimit = answers.filter((a) => a.status === 403 && a.body.error.details.reason === 'max_calls_per_run');
    assert.equal(refusedByLimit.length, 3, JSON.stringify(answers.map((a) => a.status)));
    assert.deepEqual(answers.filter((a) => !refusedByLimit.includes(a)).map((a) => a.status), [200, 200, 200]);
    assert.equal((await call({ server: 'crm', tool: 'lookup_customer', arguments: { email: 'other@example.com' } })).status, 200);
  });

  test('the older HTTP+SSE transport (transport: sse): list and call', async () => {
    const list = await http('GET', `${cg}/v1/instances/${inst}/mcp-servers/legacy/tools`, { token: runner });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.equal(list.body.transport, 'sse');
    assert.ok(list.body.tools.some((t: any) => t.name === 'lookup_customer' && t.allowed));
    const before = mcp.seen.filter((s) => s.path === '/messages').length;
    const r = await call({ server: 'legacy', tool: 'lookup_customer', arguments: { email: 'sse@example.com' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.content, [{ type: 'text', text: 'Customer sse@example.com: plan Pro, since 2021' }]);
    assert.ok(mcp.seen.filter((s) => s.path === '/messages').length > before, 'the call went over the SSE transport\'s message endpoint');
    assert.ok(mcp.seen.filter((s) => s.path === '/sse').every((s) => s.authorization === `Bearer ${SECRET}`));
  });

  test("another tenant: their token cannot list this instance's tools (404, nothing sent); a binding id of theirs in a config is refused", async () => {
    const eve = await buyer(stack, 'eve-mcp@example.com');
    const seen = mcp.seen.length;
    const foreign = await http('GET', `${cg}/v1/instances/${inst}/mcp-servers/crm/tools`, { token: eve.token });
    assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
    assert.equal(mcp.seen.length, seen);
    const asUser = await http('POST', `${cg}/v1/mcp/tools/call`, { token: eve.token, body: { instanceId: inst, server: 'crm', tool: 'lookup_customer', arguments: {}, runId: runId() } });
    assert.equal(asUser.status, 403, 'a user token cannot call tools');

    const evesBinding = await bind(eve, 'eve-mcp-token-never-sent');
    const borrowed = await instanceWith(ann, { servers: [{ name: 'crm', url: url('mcp.acme.example'), bindingId: evesBinding, allowedTools: ['whoami'] }] });
    const reads = vaultReads();
    const r = await call({ server: 'crm', tool: 'whoami' }, borrowed);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.error.details.reason, 'binding_not_found');
    assert.equal(vaultReads(), reads, "eve's secret was never read");
    assert.equal(mcp.seen.length, seen);
  });

  test('Vault sealed → 503 VAULT_UNAVAILABLE and nothing sent (fail closed)', async () => {
    const seen = mcp.seen.length;
    vault.sealed = true;
    try {
      const r = await call({ server: 'crm', tool: 'lookup_customer', arguments: { email: 'v@example.com' } });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'VAULT_UNAVAILABLE');
    } finally {
      vault.sealed = false;
    }
    assert.equal(mcp.seen.length, seen);
  });

  test('a run on the built-in runtime: the tool node calls the MCP tool and the bill carries mcp_calls at 2 credits', async () => {
    const sent = mcp.calls('lookup_customer');
    const r = await http('POST', `${stack.url('gateway')}/v1/runs`, { token: ann.token, body: { instanceId: inst, input: { text: 'dana@example.com' } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.output.text, /Checked with "lookup_customer"/);
    assert.equal(r.body.usage.dimensions.mcp_calls, 1);
    assert.equal(mcp.calls('lookup_customer') - sent, 1);
    const dims = r.body.usage.dimensions;
    const ids = CAPABILITIES.map((c) => c.id);
    const billed = meterRun(ids, dims);
    assert.equal(r.body.billing.creditsCharged, billed.total);
    assert.equal(billed.lines.find((l) => l.capability === 'mcp_tools')!.credits, 2);
    assert.equal(billed.total - meterRun(ids.filter((id) => id !== 'mcp_tools'), dims).total, 2, 'the MCP call adds 2 credits');
    const debits = (await ledger(stack, ann)).filter((e) => e.runId === r.body.runId);
    assert.ok(debits.length > 0, 'the run is in the ledger');
    assert.equal(-debits.reduce((sum, e) => sum + e.amount, 0), r.body.billing.creditsCharged, 'the ledger debits what the answer says');
    const events = await stack.db!('audit_events').where({ org_id: ann.orgId, action: 'tool.invoked' });
    assert.ok(events.some((e: any) => (typeof e.data === 'string' ? JSON.parse(e.data) : e.data).runId === r.body.runId), 'the call is audited with the run id');
  });

  test('every call is one audit event with the server and no secret; no log line carries the credential', async () => {
    const events = await stack.db!('audit_events').where({ org_id: ann.orgId }).whereIn('action', ['tool.invoked', 'tool.denied']);
    const data = events.map((e: any) => (typeof e.data === 'string' ? JSON.parse(e.data) : e.data));
    assert.ok(data.some((d) => d.server === 'crm' && d.kind === 'read' && d.result === 'ok'));
    assert.ok(data.some((d) => d.server === 'crm' && d.kind === 'write' && d.result === 'upstream_error' && d.attempts === 1));
    assert.ok(data.some((d) => d.server === 'locked' && d.result === 'denied'));
    assert.ok(data.some((d) => d.server === 'down' && d.errorCode === 'DEPENDENCY_UNAVAILABLE'));
    assert.ok(!JSON.stringify(events).includes(SECRET));
    const lines = logLines.filter((l) => l.includes('"audit":"tool_call"') && l.includes('"server"'));
    assert.ok(lines.length >= 10, `audit lines: ${lines.length}`);
    for (const l of logLines) assert.ok(!l.includes(SECRET) && !l.includes('eve-mcp-token-never-sent'), `a log line leaks the credential: ${l.slice(0, 300)}`);
  });
});
