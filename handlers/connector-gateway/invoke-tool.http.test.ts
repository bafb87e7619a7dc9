/**
 * The Connector Gateway over HTTP against the real Control Plane and a local KV v2 Vault
 * (VAULT_ADDR): T6 (bind → call → revoke → refused), T10 (write never retried, read retried 3×),
 * T11 (Vault sealed/down → 503 VAULT_UNAVAILABLE, nothing executed), policy refusals, another
 * tenant's binding → 404, and the secret in no response and no captured log line.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createConnectorGatewayApp } from '../../src/connector-gateway/app';
import { toolCallAuditor } from '../../src/audit';
import { devIssuerTokenSource } from '../../src/auth/token-source';
import { buildConnectorGatewayDeps } from '../../src/connector-gateway/build-deps';
import { connectorGatewayToolInvoker } from '../../src/connector-gateway/client';
import type { ToolCallRecord } from '../../src/connector-gateway/tools';
import type { ServiceApp } from '../../src/platform/http/create-service-app';
import { REDACTED_PATHS } from '../../src/platform/logger';
import { offeringIn, testCatalog, validCapabilities, validPlans, type TestCatalog } from '../../test/support/catalog';
import { buyer, waitFor, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';
import { startFakeVault, type FakeVault } from '../../test/support/vault-kv-server';

const SECRET = 'sk_live_connector_T6_do_not_leak_77';

describe('connector gateway', () => {
  let vault: FakeVault;
  let stack: TestStack;
  let catalog: TestCatalog;
  let cp: string;
  let cg: string;
  let cgApp: ServiceApp;
  let target: Server;
  let targetUrl: string;
  const hits: Record<string, number> = {};
  const logLines: string[] = [];
  const calls: ToolCallRecord[] = [];
  let ann: Buyer;
  let versionId: string;
  let runner: string;

  async function instanceWith(who: Buyer, toolConfig: Record<string, unknown>): Promise<string> {
    // Paid plan and network fields: set by a platform operator acting as the same user.
    const created = await http('POST', `${cp}/instances`, {
      token: await stack.userToken(who.email, ['platform-operator']),
      headers: { 'idempotency-key': `inst-${Math.random().toString(36).slice(2)}` },
      body: { projectId: who.projectId, offeringVersionId: versionId, planId: 'pro', configOverrides: { tool_connectors: toolConfig } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await waitFor('instance active', async () => ((await http('GET', `${cp}/instances/${id}`, { token: who.token })).body.state === 'active' ? true : undefined));
    return id;
  }

  async function bind(who: Buyer, credential: Record<string, string> = { token: SECRET }): Promise<string> {
    const r = await http('POST', `${cp}/connectors/bindings`, { token: who.token, body: { connectorId: 'generic_http', projectId: who.projectId, name: 'Local API', credential } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id;
  }

  function invoke(body: Record<string, unknown>, headers: Record<string, string> = {}) {
    return http('POST', `${cg}/v1/tools/invoke`, { token: runner, body, headers });
  }

  const TOOLS = {
    allowedTools: [
      { name: 'http.get', kind: 'read', connector: 'generic_http' },
      { name: 'http.post', kind: 'write', connector: 'generic_http' },
    ],
    allowedHosts: ['127.0.0.1'],
    allowPrivateNetworks: true,
  };

  before(async () => {
    // A KV mount other than the default: bindings, tool calls and GitOps manifests all follow VAULT_KV_MOUNT.
    vault = await startFakeVault({ mount: 'secret' });
    stack = await startTestStack(['control-plane'], { SEED_DEMO: '0', VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken, VAULT_KV_MOUNT: 'secret' });
    cp = stack.url('control-plane');
    catalog = testCatalog();
    const tc = { id: 'tool_connectors', v: 1, defaults: {} } as (typeof validCapabilities)[number];
    versionId = (await offeringIn(catalog.env, stack.db!, 'published', {}, { capabilities: [...validCapabilities, tc], plans: validPlans })).versionId;
    const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } });
    const log = pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
    const deps = buildConnectorGatewayDeps({ config: stack.config, log, identity: stack.identity }, { controlPlaneUrl: () => cp, backoffMs: () => 1, onToolCall: (r) => {
      calls.push(r);
      return toolCallAuditor(stack.db!)(r);
    } });
    cgApp = await createConnectorGatewayApp(deps, { validateResponses: true });
    cg = (await cgApp.listen(0, '127.0.0.1')).url;
    target = createServer((req, res) => {
      const path = req.url!.split('?')[0]!;
      hits[path] = (hits[path] ?? 0) + 1;
      if (path.startsWith('/always503')) {
        res.writeHead(503, { 'content-type': 'application/json' });
        return res.end('{"error":"busy"}');
      }
      if (path === '/slow') {
        setTimeout(() => { res.writeHead(200); res.end('{}'); }, 1500);
        return;
      }
      if (path === '/flaky' && hits[path]! < 3) {
        res.writeHead(502);
        return res.end();
      }
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        // echoes the Authorization header back: the gateway must redact it
        res.end(JSON.stringify({ path, method: req.method, sawAuth: req.headers.authorization ?? null, body: body || null }));
      });
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    ann = await buyer(stack, 'ann-cg@example.com');
    runner = await stack.serviceToken('runner');
  });
  after(async () => {
    await cgApp?.close();
    await stack?.close();
    catalog?.close();
    await vault?.close();
    await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
  });

  test('T6: a bound credential reaches the tool (bearer), the answer never shows it; after revoke the same call is refused', async () => {
    const inst = await instanceWith(ann, TOOLS);
    const bindingId = await bind(ann);
    const stored = vault.store.get(`secret/connectors/${ann.orgId}/${ann.projectId}/${bindingId}`);
    assert.equal(stored?.versions[0]?.data?.token, SECRET, 'the credential is in Vault');

    const ok = await invoke({ instanceId: inst, tool: 'http.get', bindingId, input: { url: `${targetUrl}/orders/1` } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.output.status, 200);
    assert.equal(ok.body.output.body.sawAuth, 'Bearer [REDACTED]', 'the upstream saw the token; the echo is redacted');
    assert.equal(ok.body.attempts, 1);
    assert.ok(ok.body.auditEventId);

    const policy = await http('GET', `${cg}/v1/instances/${inst}/tools`, { token: ann.token });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));
    assert.deepEqual(policy.body.bindings.map((b: any) => [b.bindingId, b.status]), [[bindingId, 'active']]);
    assert.equal(policy.body.allowPrivateNetworks, true);

    const revoked = await http('POST', `${cp}/connectors/bindings/${bindingId}/revoke`, { token: ann.token });
    assert.equal(revoked.status, 200);
    assert.equal(vault.store.get(`secret/connectors/${ann.orgId}/${ann.projectId}/${bindingId}`)?.versions[0]?.data, null, 'the current version is deleted in Vault');
    const before = hits['/orders/1'];
    const refused = await invoke({ instanceId: inst, tool: 'http.get', bindingId, input: { url: `${targetUrl}/orders/1` } });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'POLICY_DENIED');
    assert.equal(hits['/orders/1'], before, 'nothing executed');
    for (const r of [ok, policy, revoked, refused]) assert.ok(!JSON.stringify(r.body).includes(SECRET));
  });

  test('binding create/revoke commits new desired state: an ExternalSecret to the Vault path under VAULT_KV_MOUNT appears, then goes; no secret in GitOps', async () => {
    const inst = await instanceWith(ann, TOOLS);
    const dir = path.join(stack.config.dataDir, 'gitops', 'clusters/dev/instances', ann.orgId, ann.projectId, inst);
    const manifests = async () => (await Promise.all((await readdir(dir)).map((f) => readFile(path.join(dir, f), 'utf8')))).join('\n---\n');
    const commits = async () => (await http('GET', `${cp}/instances/${inst}/events`, { token: ann.token })).body.items.filter((e: any) => e.type === 'desired_state_committed').length;
    const before = await commits();
    const bindingId = await bind(ann);
    await waitFor('a new desired-state commit', async () => ((await commits()) > before ? true : undefined));
    const withSecret = await manifests();
    assert.match(withSecret, /kind: ExternalSecret/);
    assert.ok(withSecret.includes(`key: secret/data/connectors/${ann.orgId}/${ann.projectId}/${bindingId}`), 'the ExternalSecret reads the configured VAULT_KV_MOUNT');
    assert.ok(!withSecret.includes('kv/data/'), 'no reference to the default mount');
    assert.ok(!withSecret.includes(SECRET));
    const rotated = await http('POST', `${cp}/instances/${inst}/rotate-secrets`, { token: ann.token, headers: { 'idempotency-key': `rot-${inst}` }, body: {} });
    assert.equal(rotated.status, 202, JSON.stringify(rotated.body));
    assert.deepEqual(rotated.body.rotatedBindingIds, [bindingId]);
    await waitFor('the rotation commit', async () => ((await commits()) > before + 1 ? true : undefined));
    const afterCreate = await commits();
    await http('POST', `${cp}/connectors/bindings/${bindingId}/revoke`, { token: ann.token });
    await waitFor('a commit after revoke', async () => ((await commits()) > afterCreate ? true : undefined));
    assert.ok(!(await manifests()).includes(bindingId), 'the revoked binding is gone from the desired state');
  });

  test('T10: a write tool facing 503 is called exactly once; a read tool is retried 3× (4 attempts); a read recovering on the 3rd attempt succeeds', async () => {
    const inst = await instanceWith(ann, TOOLS);
    const bindingId = await bind(ann);
    const write = await invoke({ instanceId: inst, tool: 'http.post', bindingId, input: { url: `${targetUrl}/always503/write`, body: { a: 1 } } });
    assert.equal(write.status, 502, JSON.stringify(write.body));
    assert.equal(write.body.error.details.attempts, 1);
    assert.equal(hits['/always503/write'], 1, 'write tools are never retried');

    const read = await invoke({ instanceId: inst, tool: 'http.get', bindingId, input: { url: `${targetUrl}/always503/read` } });
    assert.equal(read.status, 502);
    assert.equal(hits['/always503/read'], 4, 'read tools: 1 + 3 retries');

    const stricter = await invoke({ instanceId: inst, tool: 'http.get', bindingId, kind: 'write', input: { url: `${targetUrl}/always503/strict` } });
    assert.equal(stricter.status, 502);
    assert.equal(hits['/always503/strict'], 1, 'kind: write makes a read tool a write');

    const slow = await invoke({ instanceId: inst, tool: 'http.get', bindingId, timeoutMs: 300, input: { url: `${targetUrl}/slow` } });
    assert.equal(slow.status, 504, JSON.stringify(slow.body));
    assert.equal(slow.body.error.code, 'DEPENDENCY_TIMEOUT');
    assert.equal(hits['/slow'], 1, 'a timeout is not retried: it already used the budget');

    const flaky = await invoke({ instanceId: inst, tool: 'http.get', bindingId, input: { url: `${targetUrl}/flaky` } });
    assert.equal(flaky.status, 200, JSON.stringify(flaky.body));
    assert.equal(flaky.body.attempts, 3);
  });

  test('the instance\'s readRetries and toolTimeoutMs: fewer retries of a read, a shorter wait before 504', async () => {
    const inst = await instanceWith(ann, { ...TOOLS, readRetries: 1, toolTimeoutMs: 1000 });
    const bindingId = await bind(ann);
    const read = await invoke({ instanceId: inst, tool: 'http.get', bindingId, input: { url: `${targetUrl}/always503/one-retry` } });
    assert.equal(read.status, 502, JSON.stringify(read.body));
    assert.equal(hits['/always503/one-retry'], 2, 'readRetries 1: two attempts');
    const none = await instanceWith(ann, { ...TOOLS, readRetries: 0 });
    await invoke({ instanceId: none, tool: 'http.get', bindingId, input: { url: `${targetUrl}/always503/no-retry` } });
    assert.equal(hits['/always503/no-retry'], 1, 'readRetries 0: one attempt');

    // /slow answers after 1.5 s: past this instance's 1 s toolTimeoutMs, within the default 15 s.
    const started = Date.now();
    const slow = await invoke({ instanceId: inst, tool: 'http.get', bindingId, input: { url: `${targetUrl}/slow` } });
    assert.equal(slow.status, 504, JSON.stringify(slow.body));
    assert.equal(slow.body.error.code, 'DEPENDENCY_TIMEOUT');
    assert.ok(Date.now() - started < 1450, 'refused at the instance\'s timeout, before the tool answered');
    const patient = await invoke({ instanceId: none, tool: 'http.get', bindingId, input: { url: `${targetUrl}/slow` } });
    assert.equal(patient.status, 200, JSON.stringify(patient.body));
  });

  test('Idempotency-Key: a repeated write invoke replays the first answer without calling the tool again; another payload is 409', async () => {
    const inst = await instanceWith(ann, TOOLS);
    const bindingId = await bind(ann);
    const body = { instanceId: inst, tool: 'http.post', bindingId, input: { url: `${targetUrl}/once`, body: { n: 1 } } };
    const first = await invoke(body, { 'idempotency-key': 'tool-once-1' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.headers.get('idempotent-replayed'), 'false');
    const again = await invoke(body, { 'idempotency-key': 'tool-once-1' });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(hits['/once'], 1, 'the tool ran once');
    const other = await invoke({ ...body, input: { url: `${targetUrl}/once`, body: { n: 2 } } }, { 'idempotency-key': 'tool-once-1' });
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
  });

  test("the Runner's client (built-in runtime ToolCall) gets the tool's output, and the gateway's refusals as typed errors", async () => {
    const inst = await instanceWith(ann, TOOLS);
    const bindingId = await bind(ann);
    const tokens = devIssuerTokenSource(stack.identity.devIssuer!, { service: 'runner', audience: stack.config.oidc.audience });
    const client = connectorGatewayToolInvoker({ baseUrl: () => cg, tokens });
    const scope = { runId: 'run_01J9ZK6G9H0J1K2M3N4P5Q6R7S', instanceId: inst };
    const out = (await client.invoke('http.get', bindingId, { url: `${targetUrl}/from-runner` }, { scope })) as any;
    assert.equal(out.status, 200);
    assert.equal(out.body.path, '/from-runner');
    await assert.rejects(client.invoke('slack.post_message', bindingId, { url: `${targetUrl}/x` }, { scope }), (e: any) => e.code === 'POLICY_DENIED' && e.status === 403);
  });

  test('T11: Vault sealed → 503 VAULT_UNAVAILABLE and nothing executed (fail closed); Vault back → the call works', async () => {
    const inst = await instanceWith(ann, TOOLS);
    const bindingId = await bind(ann);
    vault.sealed = true;
    try {
      const r = await invoke({ instanceId: inst, tool: 'http.get', bindingId, input: { url: `${targetUrl}/t11` } });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'VAULT_UNAVAILABLE');
      assert.equal(hits['/t11'], undefined, 'nothing executed');
      const create = await http('POST', `${cp}/connectors/bindings`, { token: ann.token, body: { connectorId: 'generic_http', projectId: ann.projectId, name: 'x', credential: { token: 'y' } } });
      assert.equal(create.status, 503);
      assert.equal(create.body.error.code, 'VAULT_UNAVAILABLE');
    } finally {
      vault.sealed = false;
    }
    const r = await invoke({ instanceId: inst, tool: 'http.get', bindingId, input: { url: `${targetUrl}/t11` } });
    assert.equal(r.status, 200);
  });

  test('policy: a tool or host off the list, and a private target without allowPrivateNetworks, are refused before the secret is read', async () => {
    const inst = await instanceWith(ann, TOOLS);
    const bindingId = await bind(ann);
    const strict = await instanceWith(ann, { allowedTools: TOOLS.allowedTools, allowedHosts: ['api.acme.example'] });
    const reads = () => vault.requests.filter((q) => q.method === 'GET').length;
    const before = reads();
    const cases = [
      await invoke({ instanceId: inst, tool: 'slack.post_message', bindingId, input: { url: `${targetUrl}/x` } }),
      await invoke({ instanceId: inst, tool: 'http.get', bindingId, input: { url: 'http://localhost:1/x' } }),
      await invoke({ instanceId: strict, tool: 'http.get', bindingId, input: { url: `${targetUrl}/x` } }),
      await invoke({ instanceId: strict, tool: 'http.get', bindingId, input: { url: 'http://169.254.169.254/latest/meta-data/' } }),
    ];
    for (const c of cases) {
      assert.equal(c.status, 403, JSON.stringify(c.body));
      assert.equal(c.body.error.code, 'POLICY_DENIED');
    }
    assert.equal(reads(), before, 'no secret read for a refused call');
    assert.equal(hits['/x'], undefined);
  });

  test("another tenant's binding id is 404; a user token cannot invoke; the policy of another tenant's instance is 404", async () => {
    const inst = await instanceWith(ann, TOOLS);
    const eve = await buyer(stack, 'eve-cg@example.com');
    const evesBinding = await bind(eve, { token: 'eve-secret-token' });
    const r = await invoke({ instanceId: inst, tool: 'http.get', bindingId: evesBinding, input: { url: `${targetUrl}/y` } });
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.equal(hits['/y'], undefined);
    const asUser = await http('POST', `${cg}/v1/tools/invoke`, { token: ann.token, body: { instanceId: inst, tool: 'http.get', bindingId: evesBinding, input: { url: `${targetUrl}/y` } } });
    assert.equal(asUser.status, 403);
    const foreignPolicy = await http('GET', `${cg}/v1/instances/${inst}/tools`, { token: eve.token });
    assert.equal(foreignPolicy.status, 404);
  });

  test('every call is audited as one structured line without the secret; no captured log line carries it', async () => {
    assert.ok(calls.length >= 8);
    const lines = logLines.filter((l) => l.includes('"audit":"tool_call"'));
    assert.ok(lines.length >= calls.length);
    const sample = JSON.parse(lines[0]!);
    for (const k of ['requestId', 'orgId', 'projectId', 'instanceId', 'tool', 'bindingId', 'kind', 'outcome', 'attempts', 'durationMs']) assert.ok(k in sample, k);
    for (const l of logLines) assert.ok(!l.includes(SECRET) && !l.includes('eve-secret-token'), `a log line leaks the secret: ${l.slice(0, 200)}`);
    assert.ok(!JSON.stringify(calls).includes(SECRET));
    // the hash-chained audit log holds the binding changes and the tool calls, without the secret
    const events = await stack.db!('audit_events').where({ org_id: ann.orgId });
    const actions = events.map((e: any) => e.action);
    for (const a of ['connector.binding_created', 'connector.binding_revoked', 'tool.invoked', 'tool.denied']) assert.ok(actions.includes(a), a);
    assert.ok(!JSON.stringify(events).includes(SECRET));
    assert.ok(calls.every((c) => events.some((e: any) => e.id === c.auditEventId) || c.orgId !== ann.orgId), 'auditEventId names the stored event');
  });
});
