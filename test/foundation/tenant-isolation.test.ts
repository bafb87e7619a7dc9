/**
 * The cross-tenant sweep: tenant A owns a workspace, an instance, a reservation and an API key;
 * tenant B (a signed-in user of another org) calls EVERY control-plane operation that names a
 * tenant resource, with A's ids in the path and in the body. Each must answer 404 NOT_FOUND —
 * never A's data, never a 403 that would confirm the id exists. Operations not built yet must
 * still answer 501 (nothing leaks through them).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { handlers as controlPlane } from '../../generated/control-plane/handler-registry';
import { isNotImplemented } from '../../src/platform/http/not-implemented';
import { loadDefinition } from '../../src/platform/spec';
import { http, startTestStack, type TestStack } from '../support/stack';

const spec: any = loadDefinition('control-plane');
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
/** Tenant-owned id kinds, by the prefix their patterns use. */
const TENANT_PREFIXES = ['org', 'prj', 'wal', 'inst', 'res', 'key', 'team', 'bnd', 'kb', 'ing'];

let stack: TestStack;
let cp: string;
let bob: string;
const a: Record<string, string> = {};

before(async () => {
  stack = await startTestStack(['control-plane'], { SEED_DEMO: '1' });
  cp = stack.url('control-plane');
  const alice = await stack.userToken('alice.owner@example.com');
  bob = await stack.userToken('bob.other@example.com');
  const ws = (await http('POST', `${cp}/orgs/auto`, { token: alice, body: {} })).body;
  await http('POST', `${cp}/orgs/auto`, { token: bob, body: {} });
  Object.assign(a, { org: ws.org.id, prj: ws.project.id, wal: ws.wallet.id, user: ws.org.ownerUserId });
  const offering = (await http('GET', `${cp}/offerings`)).body.items.find((o: any) => o.slug === 'support-assistant');
  const versionId = (await http('GET', `${cp}/offerings/${offering.id}/versions`)).body.items[0].id;
  const inst = await http('POST', `${cp}/instances`, { token: alice, headers: { 'idempotency-key': 'isolation-inst-1' }, body: { projectId: ws.project.id, offeringVersionId: versionId, planId: 'starter' } });
  a.inst = inst.body.id;
  for (let i = 0; i < 200 && (await http('GET', `${cp}/instances/${a.inst}`, { token: alice })).body.state !== 'active'; i++) await new Promise((r) => setTimeout(r, 25));
  const gw = await stack.serviceToken('gateway');
  const rsv = await http('POST', `${cp}/billing/authorize`, { token: gw, headers: { 'idempotency-key': 'isolation-authz-1' }, body: { instanceId: a.inst, estimatedBudget: 5, runId: 'run_ISOLATION0001' } });
  a.res = rsv.body.reservationId;
  a.key = (await http('POST', `${cp}/projects/${ws.project.id}/api-keys`, { token: alice, body: { name: 'ci' } })).body.apiKey.id;
  a.team = (await http('POST', `${cp}/orgs/${ws.org.id}/teams`, { token: alice, body: { name: 'Ops' } })).body.id;
  for (const k of ['org', 'prj', 'wal', 'inst', 'res', 'key', 'team']) assert.ok(a[k], `tenant A has a ${k}`);
});
after(async () => stack?.close());

/** A's id for a parameter or field, by its pattern's prefix or its name. */
function tenantIdFor(name: string, schema: any): string | undefined {
  const prefix = /^\^([a-z]+)_/.exec(schema?.pattern ?? '')?.[1];
  if (prefix && TENANT_PREFIXES.includes(prefix)) return a[prefix] ?? `${prefix}_NOSUCHRESOURCE0001`;
  if (name === 'userId') return a.user;
  return undefined;
}

/** The operation's example body with every tenant id replaced by tenant A's. */
function bodyWithTenantIds(op: any): { body: unknown; touched: boolean } {
  const media = op.requestBody && (op.requestBody.$ref ? resolve(op.requestBody.$ref) : op.requestBody).content?.['application/json'];
  if (!media) return { body: undefined, touched: false };
  const example = media.example ?? (media.examples && (Object.values<any>(media.examples)[0]?.value));
  if (example === undefined) return { body: undefined, touched: false };
  let touched = false;
  const swap = (v: any): any => {
    if (typeof v === 'string') {
      const prefix = /^([a-z]+)_[A-Za-z0-9]{8,}$/.exec(v)?.[1];
      if (prefix && TENANT_PREFIXES.includes(prefix)) {
        touched = true;
        return a[prefix] ?? v;
      }
      return v;
    }
    if (Array.isArray(v)) return v.map(swap);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
    return v;
  };
  return { body: swap(structuredClone(example)), touched };
}

function resolve(ref: string): any {
  return ref.replace(/^#\//, '').split('/').reduce((n: any, k) => n?.[k], spec);
}

const cases: { name: string; method: string; path: string; op: any; params: any[] }[] = [];
for (const [path, item] of Object.entries<any>(spec.paths)) {
  for (const method of METHODS.filter((m) => item[m])) {
    const op = item[method];
    const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => (p.$ref ? resolve(p.$ref) : p));
    cases.push({ name: op.operationId, method, path, op, params });
  }
}

test('the sweep covers every tenant-scoped operation', () => {
  const scoped = cases.filter((c) => c.params.some((p) => p.in === 'path' && tenantIdFor(p.name, p.schema)) || bodyWithTenantIds(c.op).touched);
  assert.ok(scoped.length >= 35, `only ${scoped.length} tenant-scoped operations found`);
});

for (const c of cases) {
  const pathParams = c.params.filter((p) => p.in === 'path');
  const tenantScoped = pathParams.some((p) => tenantIdFor(p.name, p.schema) !== undefined) || bodyWithTenantIds(c.op).touched;
  // Operations no tenant role may call (platform services, publisher-admins) refuse every user alike.
  const roles: string[] = c.op['x-roles'] ?? [];
  const platformOnly = roles.length > 0 && !roles.some((r) => ['owner', 'admin', 'member', 'viewer', 'authenticated'].includes(r));
  if (!tenantScoped || platformOnly) continue;
  test(`${c.name}: another tenant's ids → 404`, async () => {
    const pathIds = pathParams.map((p) => [p.name, tenantIdFor(p.name, p.schema)] as const);
    const { body } = bodyWithTenantIds(c.op);
    let path = c.path;
    for (const [name, id] of pathIds) path = path.replace(`{${name}}`, encodeURIComponent(id ?? `${name}-of-tenant-a`));
    const headers: Record<string, string> = {};
    for (const p of c.params.filter((x) => x.in === 'header' && x.required)) headers[p.name.toLowerCase()] = `isolation-${c.name}-0001`;
    const res = await http(c.method.toUpperCase(), `${cp}${path}`, { token: bob, body, headers });
    if (isNotImplemented((controlPlane as Record<string, unknown>)[c.name])) {
      assert.equal(res.status, 501, `${c.name} is not built: it must not answer ${res.status}`);
      return;
    }
    assert.equal(res.status, 404, `${c.method.toUpperCase()} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'NOT_FOUND');
    for (const id of Object.values(a)) {
      if (path.includes(id)) continue;
      assert.ok(!JSON.stringify(res.body).includes(id), `the error body leaks ${id}`);
    }
  });
}

test('lists never include another tenant\'s resources', async () => {
  const orgs = await http('GET', `${cp}/orgs`, { token: bob });
  assert.ok(!orgs.body.items.some((o: any) => o.id === a.org));
  const instances = await http('GET', `${cp}/instances`, { token: bob });
  assert.ok(!instances.body.items.some((i: any) => i.id === a.inst));
});
