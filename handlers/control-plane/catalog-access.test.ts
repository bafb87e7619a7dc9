/**
 * Who sees and changes what in the catalog, over HTTP (every response validated against the spec):
 * authoring needs `publisher-admin` on the token; browsing needs no login; drafts are invisible
 * (404) to anyone else; the artifact link is for publisher admins and the runner/gateway services.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { minimalFlow, validCapabilities, validPlans } from '../../test/support/catalog';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;
let publisher: string;
let buyer: string;
const ids: Record<'draft' | 'published' | 'paused', { offeringId: string; versionId: string }> = {} as never;
let uncertifiedVersionId: string;

async function offering(state: 'draft' | 'published' | 'paused', slug: string) {
  const o = await http('POST', `${cp}/offerings`, {
    token: publisher,
    body: { slug, name: `Access ${state}`, category: 'agents', summary: `An offering in ${state}.`, valueStreams: ['ops_it'] },
  });
  assert.equal(o.status, 201, JSON.stringify(o.body));
  const v = await http('POST', `${cp}/offerings/${o.body.id}/versions`, {
    token: publisher,
    body: { version: '1.0.0', flow: minimalFlow({ name: slug }), capabilities: validCapabilities, plans: validPlans },
  });
  assert.equal(v.status, 201, JSON.stringify(v.body));
  const c = await http('POST', `${cp}/offerings/${o.body.id}/versions/${v.body.id}/certify`, { token: publisher });
  assert.equal(c.body.status, 'passed', JSON.stringify(c.body));
  for (const to of state === 'draft' ? [] : state === 'published' ? ['published'] : ['published', 'paused']) {
    const t = await http('POST', `${cp}/offerings/${o.body.id}/transitions`, { token: publisher, body: { to } });
    assert.equal(t.status, 200, JSON.stringify(t.body));
  }
  return { offeringId: o.body.id as string, versionId: v.body.id as string };
}

before(async () => {
  stack = await startTestStack(['control-plane']);
  cp = stack.url('control-plane');
  publisher = await stack.userToken('pub@example.com', ['publisher-admin']);
  buyer = await stack.userToken('buyer@example.com');
  ids.draft = await offering('draft', 'access-draft');
  ids.published = await offering('published', 'access-published');
  ids.paused = await offering('paused', 'access-paused');
  const v = await http('POST', `${cp}/offerings/${ids.published.offeringId}/versions`, {
    token: publisher,
    body: { version: '1.1.0', flow: minimalFlow({ name: 'uncertified' }), capabilities: validCapabilities, plans: validPlans },
  });
  uncertifiedVersionId = v.body.id;
});
after(async () => stack?.close());

describe('catalog access', () => {
  test('authoring without the publisher-admin role answers 403 FORBIDDEN on every authoring operation', async () => {
    const { offeringId, versionId } = ids.published;
    const calls: [string, string, unknown?][] = [
      ['POST', '/offerings', { slug: 'nope', name: 'Nope', category: 'apps', summary: 'x', valueStreams: ['ops_it'] }],
      ['PATCH', `/offerings/${offeringId}`, { summary: 'hijacked' }],
      ['POST', `/offerings/${offeringId}/transitions`, { to: 'paused' }],
      ['POST', `/offerings/${offeringId}/versions`, { version: '9.0.0', flow: minimalFlow(), capabilities: validCapabilities, plans: validPlans }],
      ['POST', `/offerings/${offeringId}/versions/${versionId}/certify`],
      ['GET', `/offerings/${offeringId}/versions/${versionId}/artifact`],
      ['POST', '/integrations/langflow/flows:publish', { offeringId, version: '9.0.0', flow: minimalFlow() }],
      ['GET', `/integrations/langflow/versions/${versionId}/status`],
    ];
    for (const [method, path, body] of calls) {
      const res = await http(method, `${cp}${path}`, { token: buyer, ...(body ? { body } : {}) });
      assert.equal(res.status, 403, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'FORBIDDEN');
    }
    const still = await http('GET', `${cp}/offerings/${offeringId}`);
    assert.equal(still.body.summary, 'An offering in published.');
    assert.equal(still.body.lifecycle, 'published');
  });

  test('a draft is invisible to anonymous callers and buyers (404, not listed) and visible to publishers', async () => {
    const { offeringId, versionId } = ids.draft;
    for (const token of [undefined, buyer]) {
      const opts = token ? { token } : {};
      assert.equal((await http('GET', `${cp}/offerings/${offeringId}`, opts)).status, 404);
      assert.equal((await http('GET', `${cp}/offerings/${offeringId}/versions`, opts)).status, 404);
      assert.equal((await http('GET', `${cp}/offerings/${offeringId}/versions/${versionId}`, opts)).status, 404);
      const list = await http('GET', `${cp}/offerings?limit=200`, opts);
      assert.equal(list.status, 200);
      assert.ok(!list.body.items.some((o: { id: string }) => o.id === offeringId));
      const search = await http('GET', `${cp}/offerings?q=draft`, opts);
      assert.deepEqual(search.body.items, []);
    }
    const own = await http('GET', `${cp}/offerings/${offeringId}`, { token: publisher });
    assert.equal(own.status, 200);
    assert.equal(own.body.lifecycle, 'draft');
    const adminList = await http('GET', `${cp}/offerings?lifecycle=draft`, { token: publisher });
    assert.deepEqual(adminList.body.items.map((o: { id: string }) => o.id), [offeringId]);
  });

  test('a not-found offering and a draft answer the same 404', async () => {
    const draft = await http('GET', `${cp}/offerings/${ids.draft.offeringId}`);
    const missing = await http('GET', `${cp}/offerings/off_00000000000000000000000000`);
    assert.equal(draft.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(draft.body.error.message, missing.body.error.message);
  });

  test('a paused offering can still be opened by id (flagged by its lifecycle) but is not listed', async () => {
    const got = await http('GET', `${cp}/offerings/${ids.paused.offeringId}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.lifecycle, 'paused');
    const list = await http('GET', `${cp}/offerings?limit=200`);
    assert.deepEqual(list.body.items.map((o: { id: string }) => o.id), [ids.published.offeringId]);
  });

  test('only published offerings can be searched without the role: another lifecycle filter is a 400', async () => {
    const res = await http('GET', `${cp}/offerings?lifecycle=draft`);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'VALIDATION_FAILED');
  });

  test('buyers see certified versions only', async () => {
    const list = await http('GET', `${cp}/offerings/${ids.published.offeringId}/versions`);
    assert.deepEqual(list.body.items.map((v: { id: string }) => v.id), [ids.published.versionId]);
    assert.equal((await http('GET', `${cp}/offerings/${ids.published.offeringId}/versions/${uncertifiedVersionId}`)).status, 404);
    const admin = await http('GET', `${cp}/offerings/${ids.published.offeringId}/versions`, { token: publisher });
    assert.equal(admin.body.items.length, 2);
  });

  test('the runner and the gateway get artifact links of certified versions; other services are refused', async () => {
    const { offeringId, versionId } = ids.published;
    for (const svc of ['runner', 'gateway'] as const) {
      const token = await stack.serviceToken(svc);
      const ok = await http('GET', `${cp}/offerings/${offeringId}/versions/${versionId}/artifact`, { token });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.match(ok.body.sha256, /^[a-f0-9]{64}$/);
      const uncertified = await http('GET', `${cp}/offerings/${offeringId}/versions/${uncertifiedVersionId}/artifact`, { token });
      assert.equal(uncertified.status, 404);
    }
    const provisioner = await stack.serviceToken('provisioner');
    const refused = await http('GET', `${cp}/offerings/${offeringId}/versions/${versionId}/artifact`, { token: provisioner });
    assert.equal(refused.status, 403);
    const admin = await http('GET', `${cp}/offerings/${offeringId}/versions/${uncertifiedVersionId}/artifact`, { token: publisher });
    assert.equal(admin.status, 200);
  });
});
