/**
 * The specs' decision table (src/platform/policy/decision-table.ts: every operation × caller ×
 * own/foreign resource, from `x-roles` and `x-scope`) checked against the running control plane
 * over HTTP. Two tenants: A ("own": an owner, an admin, a member, a viewer and a publisher-admin
 * member; instances, a reservation, a run, a knowledge base, an ingestion, a connector binding,
 * API keys for the whole project and limited to one instance) and B ("foreign"). Each cell sends
 * the operation's example request with the ids of A or B and expects:
 * - allow: neither 401 nor 403, nor the 404 of its resource (the handler may still refuse the
 *   input: 400/409/422 are answers of an authorized request);
 * - 401 / 403 / 404 exactly, with the canonical error code.
 * Cells run in an order that keeps the fixtures usable: reads first, then writes, then what
 * destroys (terminate, revoke, remove, delete); refused callers before allowed ones.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { decisionTable, subjectName, tableOperations, type Cell } from '../../src/platform/policy/decision-table';
import { KIND_LABEL, isTenantKind, type TenantKind } from '../../src/platform/policy/scope';
import { loadDefinition } from '../../src/platform/spec';
import { http, startTestStack, type TestStack } from '../support/stack';

const spec: any = loadDefinition('control-plane');
const ops = tableOperations('control-plane', spec);
const cells = decisionTable(ops);

let stack: TestStack;
let cp: string;
type Tenant = Record<string, string>;
const own: Tenant = {};
const foreign: Tenant = {};
const tokens: Record<string, string> = {};
const apiKeys: Record<string, string> = {};
let argocdToken: string | undefined;

const resolve = (ref: string): any => ref.replace(/^#\//, '').split('/').reduce((n: any, k) => n?.[k], spec);
const ID_PREFIXES: Record<string, string> = { org: 'org', prj: 'prj', wal: 'wal', inst: 'inst', res: 'res', key: 'key', team: 'team', bnd: 'bnd', bind: 'bnd', kb: 'kb', ing: 'ing', run: 'run' };

async function workspace(t: Tenant, token: string, tag: string) {
  const ws = (await http('POST', `${cp}/orgs/auto`, { token, body: {} })).body;
  Object.assign(t, { org: ws.org.id, prj: ws.project.id, wal: ws.wallet.id, user: ws.org.ownerUserId });
  const offering = (await http('GET', `${cp}/offerings`)).body.items.find((o: any) => o.slug === 'support-assistant');
  const versionId = (await http('GET', `${cp}/offerings/${offering.id}/versions`)).body.items[0].id;
  const create = async (n: number) => {
    const r = await http('POST', `${cp}/instances`, { token, headers: { 'idempotency-key': `dt-${tag}-inst-${n}` }, body: { projectId: t.prj, offeringVersionId: versionId, planId: 'starter' } });
    assert.ok(r.status === 201 || r.status === 202, `instance ${tag}/${n}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as string;
  };
  t.inst = await create(1);
  t.inst2 = await create(2);
  for (let i = 0; i < 400 && (await http('GET', `${cp}/instances/${t.inst}`, { token })).body.state !== 'active'; i++) await new Promise((r) => setTimeout(r, 25));
  const gw = await stack.serviceToken('gateway');
  const rsv = await http('POST', `${cp}/billing/authorize`, { token: gw, headers: { 'idempotency-key': `dt-${tag}-authz` }, body: { instanceId: t.inst, estimatedBudget: 1, runId: `run_DT${tag.toUpperCase()}RSV00001` } });
  assert.equal(rsv.status, 201, JSON.stringify(rsv.body));
  t.res = rsv.body.reservationId;
  t.team = (await http('POST', `${cp}/orgs/${t.org}/teams`, { token, body: { name: 'Ops' } })).body.id;
  t.key = (await http('POST', `${cp}/projects/${t.prj}/api-keys`, { token, body: { name: 'revoked by the table' } })).body.apiKey.id;
  const kb = await http('POST', `${cp}/rag/knowledge-bases`, { token, body: { projectId: t.prj, name: 'Help center' } });
  assert.equal(kb.status, 201, JSON.stringify(kb.body));
  t.kb = kb.body.id;
  const db = stack.db!;
  t.ing = `ing_DT${tag.toUpperCase()}0000000001`;
  await db('ingestions').insert({ id: t.ing, org_id: t.org, project_id: t.prj, kb_id: t.kb, upload_id: 'upl_DT0000000001' });
  t.bnd = `bnd_DT${tag.toUpperCase()}0000000001`;
  await db('connector_bindings').insert({ id: t.bnd, org_id: t.org, project_id: t.prj, connector_id: 'http', name: 'crm', vault_path: `secret/dt/${tag}` });
  t.run = `run_DT${tag.toUpperCase()}0000000001`;
  await db('runs').insert({ id: t.run, instance_id: t.inst, org_id: t.org, project_id: t.prj, wallet_id: t.wal, caller_kind: 'user', caller_subject: t.user, attempt_id: 'att_1', status: 'succeeded', started_at: new Date(), finished_at: new Date() });
}

before(async () => {
  stack = await startTestStack(['control-plane'], { SEED_DEMO: '1', ARGOCD_WEBHOOK_TOKEN: 'dt-argocd-webhook-token-0001' });
  cp = stack.url('control-plane');
  argocdToken = 'dt-argocd-webhook-token-0001';
  // Tokens outlive the whole table (thousands of requests on a shared, loaded box).
  const TTL = 3600;
  tokens.owner = await stack.userToken('owner@a.example', [], TTL);
  await workspace(own, tokens.owner, 'a');
  await workspace(foreign, await stack.userToken('owner@b.example', [], TTL), 'b');
  // The other members of A: signed in once (so they exist), then added with their role.
  for (const role of ['admin', 'member', 'viewer', 'publisher-admin', 'victim']) {
    const email = `${role}@a.example`;
    tokens[role] = await stack.userToken(email, [], TTL);
    await http('GET', `${cp}/orgs`, { token: tokens[role] });
    const add = await http('POST', `${cp}/orgs/${own.org}/members`, { token: tokens.owner, body: { email, userId: `user-${email}`, role: role === 'victim' ? 'viewer' : role } });
    assert.ok(add.status === 201 || add.status === 200, `add ${role}: ${add.status} ${JSON.stringify(add.body)}`);
  }
  own.userId = 'user-victim@a.example';
  foreign.userId = foreign.user;
  tokens['realm:publisher-admin'] = await stack.userToken('publisher@platform.example', ['publisher-admin'], TTL);
  tokens['realm:platform-operator'] = await stack.userToken('operator@platform.example', ['platform-operator'], TTL);
  for (const s of ['gateway', 'runner', 'connector-gateway', 'provisioner', 'scheduler'] as const) tokens[`service:${s}`] = await stack.serviceToken(s, TTL);
  tokens['service:runtime'] = await stack.serviceToken('runtime' as 'runner', TTL);
  const key = async (instanceIds: string[]) => (await http('POST', `${cp}/projects/${own.prj}/api-keys`, { token: tokens.owner, body: { name: 'dt', instanceIds } })).body.secret as string;
  apiKeys.none = await key([]);
  apiKeys['this-instance'] = await key([own.inst]);
  apiKeys['other-instance'] = await key([own.inst2]);
  for (const k of Object.values(apiKeys)) assert.ok(k, 'an API key secret');
});
after(async () => stack?.close());

test('an API key limited to one instance reaches that instance only: no other instance, no knowledge base of its project', async () => {
  const limited = { 'x-api-key': apiKeys['this-instance']! };
  assert.equal((await http('GET', `${cp}/instances/${own.inst}`, { headers: limited })).status, 200);
  const other = await http('GET', `${cp}/instances/${own.inst2}`, { headers: limited });
  assert.equal(other.status, 404, JSON.stringify(other.body));
  const list = await http('GET', `${cp}/rag/knowledge-bases?projectId=${own.prj}`, { headers: limited });
  assert.equal(list.status, 403, JSON.stringify(list.body));
  assert.equal(list.body.error.code, 'FORBIDDEN');
  assert.equal((await http('POST', `${cp}/rag/knowledge-bases/${own.kb}/query`, { headers: limited, body: { question: 'returns?' } })).status, 403);
  assert.equal((await http('POST', `${cp}/rag/knowledge-bases`, { headers: limited, body: { projectId: own.prj, name: 'Not mine' } })).status, 403);
  assert.equal((await http('GET', `${cp}/rag/ingestions/${own.ing}`, { headers: limited })).status, 403);
  // The project-wide key still reaches the project's bases.
  assert.equal((await http('GET', `${cp}/rag/knowledge-bases?projectId=${own.prj}`, { headers: { 'x-api-key': apiKeys.none! } })).status, 200);
});

test('top-ups come from the provisioner or a platform operator, not from a publisher-admin', async () => {
  const body = { amount: 5, creditType: 'granted', source: 'promotion' };
  const as = (token: string) => http('POST', `${cp}/wallets/${foreign.wal}/topups`, { token, body, headers: { 'idempotency-key': `dt-topup-${randomUUID()}` } });
  const publisher = await as(tokens['realm:publisher-admin']!);
  assert.equal(publisher.status, 404, JSON.stringify(publisher.body));
  assert.equal((await as(tokens.owner!)).status, 404, "another org's owner does not see the wallet");
  const operator = await as(tokens['realm:platform-operator']!);
  assert.equal(operator.status, 201, JSON.stringify(operator.body));
  assert.equal((await as(tokens['service:provisioner']!)).status, 201);
});

test('any member may leave an org; only owners and admins remove others', async () => {
  const email = 'leaver@a.example';
  const leaver = await stack.userToken(email);
  await http('GET', `${cp}/orgs`, { token: leaver });
  await http('POST', `${cp}/orgs/${own.org}/members`, { token: tokens.owner, body: { email, userId: `user-${email}`, role: 'viewer' } });
  const other = await http('DELETE', `${cp}/orgs/${own.org}/members/${encodeURIComponent('user-member@a.example')}`, { token: leaver });
  assert.equal(other.status, 403, JSON.stringify(other.body));
  const self = await http('DELETE', `${cp}/orgs/${own.org}/members/${encodeURIComponent(`user-${email}`)}`, { token: leaver });
  assert.equal(self.status, 204, JSON.stringify(self.body));
  assert.equal((await http('GET', `${cp}/orgs/${own.org}`, { token: leaver })).status, 404, 'gone from the org');
});

/** Swaps every tenant id in a value for the tenant's. */
function swap(v: any, t: Tenant): any {
  if (typeof v === 'string') {
    const prefix = /^([a-z]+)_[A-Za-z0-9]{8,}$/.exec(v)?.[1];
    return prefix && ID_PREFIXES[prefix] ? t[ID_PREFIXES[prefix]!] ?? v : v;
  }
  if (Array.isArray(v)) return v.map((x) => swap(x, t));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x, t)]));
  return v;
}

function requestFor(cell: Cell): { method: string; url: string; body?: unknown; headers: Record<string, string> } {
  const t = cell.tenancy === 'own' ? own : foreign;
  const op = spec.paths[cell.op.path][cell.op.method];
  const params = [...(spec.paths[cell.op.path].parameters ?? []), ...(op.parameters ?? [])].map((p: any) => (p.$ref ? resolve(p.$ref) : p));
  let path = cell.op.path;
  for (const p of params.filter((x: any) => x.in === 'path')) {
    const prefix = /^\^([a-z]+)_/.exec(p.schema?.pattern ?? '')?.[1];
    const id = p.name === 'userId' ? t.userId : prefix && ID_PREFIXES[prefix] ? t[ID_PREFIXES[prefix]!] : p.example ?? `${p.name}-x`;
    path = path.replace(`{${p.name}}`, encodeURIComponent(id ?? `${p.name}-x`));
  }
  const query = new URLSearchParams();
  const entry = cell.op.scope[0]!;
  if (entry.from?.in === 'query') {
    const k = entry.kind === 'org' ? 'org' : entry.kind === 'project' ? 'prj' : entry.kind === 'instance' ? 'inst' : entry.kind;
    query.set(entry.from.name, t[k]!);
  }
  const headers: Record<string, string> = {};
  for (const p of params.filter((x: any) => x.in === 'header' && x.required)) headers[p.name.toLowerCase()] = `dt-${randomUUID()}`;
  const body = requestBody(op, t);
  if (entry.via && body && typeof body === 'object') (body as Record<string, unknown>)[entry.via.name] = own.inst;
  const qs = query.toString();
  return { method: cell.op.method.toUpperCase(), url: `${cp}${path}${qs ? `?${qs}` : ''}`, body, headers };
}

function requestBody(op: any, t: Tenant): unknown {
  const rb = op.requestBody && (op.requestBody.$ref ? resolve(op.requestBody.$ref) : op.requestBody);
  const media = rb?.content?.['application/json'];
  if (!media) return undefined;
  const example = media.example ?? (media.examples && Object.values<any>(media.examples)[0]?.value);
  return example === undefined ? {} : swap(structuredClone(example), t);
}

function credentials(cell: Cell): { token?: string; headers: Record<string, string> } {
  const s = cell.subject;
  const name = subjectName(s);
  if (s.kind === 'api-key') return { headers: { 'x-api-key': apiKeys[s.limit]! } };
  if (s.kind === 'service' && s.name === 'argocd') return { headers: { 'x-argocd-webhook-token': argocdToken! } };
  if (s.kind === 'member') return { token: tokens[s.role], headers: {} };
  return { token: tokens[name], headers: {} };
}

/** Like http(), but an answer that is not one JSON value (NDJSON exports) is kept as text. */
async function send(method: string, url: string, opts: { body?: unknown; token?: string; headers: Record<string, string> }) {
  const headers = { ...opts.headers, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) };
  const res = await fetch(url, { method, headers, body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: an authorized answer's body (errors are always JSON)
  }
  return { status: res.status, body };
}

/** Reads, then writes, then what destroys; within an operation, refusals before allowed calls. */
const DESTROYS = /^(terminate|revoke|remove|delete|rotate|pause|update|upgrade|void|settle)/;
const rank = (c: Cell) => (c.op.method === 'get' ? 0 : DESTROYS.test(c.op.operationId) ? 2 : 1) * 10 + (c.expect === 'allow' ? 1 : 0);
const runnable = cells.filter((c) => c.subject.kind !== 'widget').sort((x, y) => rank(x) - rank(y) || x.op.operationId.localeCompare(y.op.operationId));

test(`the control plane answers the specs' decision table (${cells.length} cells for ${ops.length} operations, ${runnable.length} sent)`, async () => {
  console.log(`decision table: ${cells.length} cells (${ops.length} operations × ${cells.length / ops.length / 2} callers × own/foreign); ${runnable.length} sent over HTTP (widget sessions are the gateway's)`);
  const wrong: string[] = [];
  for (const cell of runnable) {
    const req = requestFor(cell);
    const cred = credentials(cell);
    const res = await send(req.method, req.url, { token: cred.token, body: req.body, headers: { ...req.headers, ...cred.headers } });
    const code = res.body?.error?.code;
    const label = isTenantKind(cell.op.scope[0]!.kind) ? `${KIND_LABEL[cell.op.scope[0]!.kind as TenantKind]} not found` : undefined;
    const where = `${cell.op.operationId} × ${subjectName(cell.subject)} × ${cell.tenancy}`;
    if (cell.expect === 'allow') {
      if (res.status === 401 || res.status === 403 || (res.status === 404 && res.body?.error?.message === label)) wrong.push(`${where}: allowed by the specs, answered ${res.status} ${code} ${res.body?.error?.message}`);
    } else if (res.status !== cell.expect || code !== { 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' }[cell.expect]) {
      wrong.push(`${where}: the specs say ${cell.expect}, answered ${res.status} ${code} ${res.body?.error?.message ?? ''}`);
    }
  }
  assert.deepEqual(wrong, [], `${wrong.length} of ${runnable.length} cells disagree:\n${wrong.join('\n')}`);
});
