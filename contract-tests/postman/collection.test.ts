/**
 * The collection builder: what it writes is what generated/ holds, every status assertion is exact
 * and documented by the operation it calls, the journeys T1–T12 are there (T6 end to end), and a
 * request that drifts from the specs fails the build instead of the Newman run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bundleSpec } from '../../scripts/gen/bundle';
import { services } from '../../scripts/gen/services';
import { buildCollection, FOLDERS, matchOperation } from './collection';
import { folder, request } from './dsl';

const specs: any = Object.fromEntries(services.map((s) => [s.name, bundleSpec(s.spec)]));
const built = buildCollection(specs);
const items: any[] = built.collection.item.flatMap((f: any) => f.item);

test('generated/postman holds exactly what the builder writes (npm run gen)', () => {
  const file = JSON.parse(readFileSync('generated/postman/agent-store.postman_collection.json', 'utf8'));
  assert.deepEqual(file, built.collection);
});

test('every request asserts one exact status, never a list of acceptable ones', () => {
  for (const it of items) {
    const code = it.event.find((e: any) => e.listen === 'test').script.exec.join('\n');
    assert.equal(code.match(/pm\.response\.to\.have\.status\(\d{3}\)/g)?.length, 1, it.name);
    assert.doesNotMatch(code, /include\(pm\.response\.code\)|oneOf\(\[|\.within\(\d{3}/, it.name);
  }
  assert.equal(built.requests, items.length);
  assert.ok(built.assertions >= 2 * built.requests, `${built.assertions} assertions for ${built.requests} requests`);
});

test('the journeys T1–T12 are all there, and T6 runs bind → call → revoke → refused in order', () => {
  const names = items.map((i) => i.name as string);
  for (let t = 1; t <= 12; t++) assert.ok(names.some((n) => n.startsWith(`T${t}:`)), `T${t}`);
  const at = (prefix: string) => names.findIndex((n) => n.startsWith(prefix));
  const order = ['T6: bind', 'T6: call the tool', 'T6: revoke', 'T6: the same call after revoke'].map(at);
  assert.ok(order.every((i) => i >= 0), JSON.stringify(order));
  assert.deepEqual([...order].sort((a, b) => a - b), order);
});

test('requests go through the validating proxy unless they say why not', () => {
  for (const it of items) {
    const url: string = it.request.url;
    const direct = /_DIRECT\}\}|^\{\{(UPLOAD_URL|UPSTREAM|VAULT_ADDR)\}\}/.test(url);
    assert.equal(direct, /not through the validating proxy: \S/.test(it.request.description), `${it.name}: ${url}`);
  }
  const proxied = items.filter((i) => /_BASE\}\}/.test(i.request.url)).length;
  assert.ok(proxied >= 0.75 * items.length, `${proxied} of ${items.length} through the proxy`);
});

test('an expected status the operation does not document fails the build, naming the operation', () => {
  const bad = folder('x', 'x', [request({ name: 'teapot', call: 'POST /v1/tools/invoke', service: 'connector-gateway', token: 'RUNNER_JWT', body: {}, status: 418 })]);
  assert.throws(() => buildCollection(specs, [bad]), /invokeTool does not document status 418 \(documented: 200, 400/);
});

test('a proxied request to a route no spec has fails the build; a direct one with a reason is allowed', () => {
  const off = request({ name: 'gone', call: 'GET /v1/no-such-thing', service: 'gateway', status: 200 });
  assert.throws(() => buildCollection(specs, [folder('x', 'x', [off])]), /GET \/v1\/no-such-thing is not an operation of the gateway spec/);
  assert.doesNotThrow(() => buildCollection(specs, [folder('x', 'x', [{ ...off, direct: 'a probe' }])]));
});

test('path templates match by segment, literal segments first', () => {
  assert.equal(matchOperation(specs['control-plane'], 'GET', '/instances/{{INSTANCE_ID}}/entitlements')?.op.operationId, 'getInstanceEntitlements');
  assert.equal(matchOperation(specs['control-plane'], 'POST', '/orgs/auto')?.op.operationId, 'createOrgAuto');
  assert.equal(matchOperation(specs.gateway, 'POST', '/v1/widget/session:init')?.op.operationId, 'initWidgetSession');
  assert.equal(matchOperation(specs.gateway, 'DELETE', '/v1/runs'), undefined);
});

test('request names are unique (polling jumps to a request by name)', () => {
  const names = FOLDERS.flatMap((f) => f.requests.map((r) => r.name));
  assert.equal(new Set(names).size, names.length);
});
