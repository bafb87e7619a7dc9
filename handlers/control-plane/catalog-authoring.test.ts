/**
 * The publisher's journey over HTTP, every response validated against the spec: list → version
 * (from a real Langflow export) → certify → publish → buyers find it → the Runner's artifact link
 * downloads exactly the bytes whose sha256 it names; plus idempotent version creation, refusals
 * (secrets, illegal transitions, no update path on versions) and Langflow Studio publishing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { demoFlow, DEMO_OFFERINGS } from '../../src/catalog/demo-seed';
import { minimalFlow, validCapabilities, validPlans } from '../../test/support/catalog';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;
let publisher: string;
const support = DEMO_OFFERINGS[0]!;

before(async () => {
  stack = await startTestStack(['control-plane']);
  cp = stack.url('control-plane');
  publisher = await stack.userToken('pub@example.com', ['publisher-admin']);
});
after(async () => stack?.close());

async function newOffering(slug: string) {
  const res = await http('POST', `${cp}/offerings`, { token: publisher, body: { ...support.listing, slug } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id as string;
}

describe('catalog authoring over HTTP', () => {
  test('create → version → certify → publish: buyers find it and the artifact link serves the hashed bytes', async () => {
    const created = await http('POST', `${cp}/offerings`, { token: publisher, body: { ...support.listing, slug: 'journey-support' } });
    assert.equal(created.status, 201);
    assert.equal(created.body.lifecycle, 'draft');
    assert.match(created.body.id, /^off_/);
    const dup = await http('POST', `${cp}/offerings`, { token: publisher, body: { ...support.listing, slug: 'journey-support' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'ALREADY_EXISTS');
    const offeringId = created.body.id;

    const version = await http('POST', `${cp}/offerings/${offeringId}/versions`, {
      token: publisher,
      body: { version: '1.0.0', changelog: 'First', flow: demoFlow(support.flowFile), capabilities: support.capabilities, plans: support.plans },
    });
    assert.equal(version.status, 201, JSON.stringify(version.body));
    assert.equal(version.body.certification.status, 'pending');
    const versionId = version.body.id;

    const early = await http('POST', `${cp}/offerings/${offeringId}/transitions`, { token: publisher, body: { to: 'published' } });
    assert.equal(early.status, 422, 'no certified version yet');

    const report = await http('POST', `${cp}/offerings/${offeringId}/versions/${versionId}/certify`, { token: publisher });
    assert.equal(report.status, 200);
    assert.equal(report.body.status, 'passed', JSON.stringify(report.body.errors));

    const live = await http('POST', `${cp}/offerings/${offeringId}/transitions`, { token: publisher, body: { to: 'published', versionId, reason: 'launch' } });
    assert.equal(live.status, 200, JSON.stringify(live.body));
    assert.equal(live.body.publishedVersionId, versionId);
    assert.deepEqual(live.body.plans.map((p: { id: string }) => p.id), ['starter', 'pro', 'enterprise']);

    const found = await http('GET', `${cp}/offerings?q=support&valueStream=customer_support&language=de&capability=human_handover`);
    assert.equal(found.status, 200);
    assert.deepEqual(found.body.items.map((o: { id: string }) => o.id), [offeringId]);

    const runner = await stack.serviceToken('runner');
    const link = await http('GET', `${cp}/offerings/${offeringId}/versions/${versionId}/artifact`, { token: runner });
    assert.equal(link.status, 200, JSON.stringify(link.body));
    assert.equal(link.body.sha256, version.body.artifact.sha256);
    assert.ok(link.body.url.startsWith(`${cp}/objects/artifacts/sha256/${link.body.sha256}.json?`), link.body.url);
    const download = await fetch(link.body.url);
    assert.equal(download.status, 200);
    const bytes = Buffer.from(await download.arrayBuffer());
    assert.equal(createHash('sha256').update(bytes).digest('hex'), link.body.sha256);
    assert.equal(bytes.length, link.body.sizeBytes);
    assert.equal(JSON.parse(bytes.toString()).data.nodes.length, 4);

    const tampered = await fetch(link.body.url.replace(/sig=[^&]+/, 'sig=forged'));
    assert.equal(tampered.status, 403);
    assert.equal((await tampered.json()).error.code, 'FORBIDDEN');
  });

  test('createOfferingVersion honours Idempotency-Key: a retry replays, another payload conflicts', async () => {
    const offeringId = await newOffering('idem-support');
    const body = { version: '1.0.0', flow: minimalFlow(), capabilities: validCapabilities, plans: validPlans };
    const headers = { 'idempotency-key': 'publish-1' };
    const first = await http('POST', `${cp}/offerings/${offeringId}/versions`, { token: publisher, body, headers });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.headers.get('idempotent-replayed'), 'false');
    const retry = await http('POST', `${cp}/offerings/${offeringId}/versions`, { token: publisher, body, headers });
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.body.id, first.body.id);
    const other = await http('POST', `${cp}/offerings/${offeringId}/versions`, { token: publisher, body: { ...body, version: '1.0.1' }, headers });
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
    const versions = await http('GET', `${cp}/offerings/${offeringId}/versions`, { token: publisher });
    assert.equal(versions.body.items.length, 1);
  });

  test('a flow with an embedded credential answers 422 naming the node, without echoing the value', async () => {
    const offeringId = await newOffering('secret-support');
    const flow = demoFlow(support.flowFile);
    const model = (flow.data.nodes as any[]).find((n) => n.data.type === 'LocalModel');
    model.data.node.template.api_key = { type: 'str', password: true, load_from_db: false, value: 'sk-proj-abcdef0123456789', name: 'api_key', display_name: 'API Key' };
    const res = await http('POST', `${cp}/offerings/${offeringId}/versions`, {
      token: publisher,
      body: { version: '1.0.0', flow, capabilities: support.capabilities, plans: support.plans },
    });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'UNPROCESSABLE');
    assert.equal(res.body.error.details.nodeId, model.id);
    assert.ok(!JSON.stringify(res.body).includes('sk-proj'));
  });

  test('certification failures answer 200 with the failed report; the version cannot be published', async () => {
    const offeringId = await newOffering('failing-support');
    const v = await http('POST', `${cp}/offerings/${offeringId}/versions`, {
      token: publisher,
      body: { version: '1.0.0', flow: minimalFlow(), capabilities: [{ id: 'web_widget', v: 1, defaults: { branding: { primaryColor: 'blue' } } }], plans: [{ ...validPlans[0]!, defaults: {} }] },
    });
    const report = await http('POST', `${cp}/offerings/${offeringId}/versions/${v.body.id}/certify`, { token: publisher });
    assert.equal(report.status, 200);
    assert.equal(report.body.status, 'failed');
    assert.deepEqual(report.body.errors.map((e: { capability: string; plan: string; path: string }) => [e.capability, e.plan, e.path]), [['web_widget', 'starter', '/branding/primaryColor']]);
    const publish = await http('POST', `${cp}/offerings/${offeringId}/transitions`, { token: publisher, body: { to: 'published', versionId: v.body.id } });
    assert.equal(publish.status, 422);
    const stored = await http('GET', `${cp}/offerings/${offeringId}/versions/${v.body.id}`, { token: publisher });
    assert.equal(stored.body.certification.status, 'failed');
    assert.equal(stored.body.certification.errors.length, 1);
  });

  test('an illegal transition answers 409 ILLEGAL_TRANSITION with from, to and allowed', async () => {
    const offeringId = await newOffering('illegal-support');
    const res = await http('POST', `${cp}/offerings/${offeringId}/transitions`, { token: publisher, body: { to: 'eol' } });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'ILLEGAL_TRANSITION');
    assert.deepEqual(res.body.error.details, { from: 'draft', to: 'eol', allowed: ['published'] });
  });

  test('versions have no update path: PATCH, PUT and DELETE answer 405', async () => {
    const offeringId = await newOffering('immutable-support');
    const v = await http('POST', `${cp}/offerings/${offeringId}/versions`, { token: publisher, body: { version: '1.0.0', flow: minimalFlow(), capabilities: validCapabilities, plans: validPlans } });
    for (const method of ['PATCH', 'PUT', 'DELETE']) {
      const res = await http(method, `${cp}/offerings/${offeringId}/versions/${v.body.id}`, { token: publisher, body: { version: '2.0.0' } });
      assert.equal(res.status, 405, method);
    }
  });

  test('listing updates merge: only the given fields change', async () => {
    const offeringId = await newOffering('update-support');
    const res = await http('PATCH', `${cp}/offerings/${offeringId}`, { token: publisher, body: { summary: 'Now 24/7.', languages: ['en', 'de', 'fr'] } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.summary, 'Now 24/7.');
    assert.deepEqual(res.body.languages, ['en', 'de', 'fr']);
    assert.equal(res.body.name, support.listing.name);
    assert.ok(res.body.updatedAt >= res.body.createdAt);
  });

  test('a tampered search cursor answers 400 VALIDATION_FAILED', async () => {
    const res = await http('GET', `${cp}/offerings?cursor=${Buffer.from('{"v":1,"s":"newest","k":"x","id":"off_1","f":"y"}').toString('base64url')}`);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'VALIDATION_FAILED');
  });

  test('Langflow Studio publishes a flow as a new certified version, copying capabilities and plans, and reports its status', async () => {
    const offeringId = await newOffering('langflow-support');
    const first = await http('POST', `${cp}/integrations/langflow/flows:publish`, {
      token: publisher,
      body: { offeringId, version: '1.0.0', flow: demoFlow(support.flowFile), capabilities: support.capabilities, plans: support.plans },
    });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.certification.status, 'passed');
    assert.equal(first.body.isPublishedVersion, false);
    assert.equal(first.body.offeringLifecycle, 'draft');
    assert.equal(first.body.activeInstances, 0);
    assert.equal(first.body.flowId, demoFlow(support.flowFile).id);

    const published = await http('POST', `${cp}/offerings/${offeringId}/transitions`, { token: publisher, body: { to: 'published', versionId: first.body.versionId } });
    assert.equal(published.status, 200);

    const flow = demoFlow(support.flowFile);
    (flow.data.nodes as any[]).find((n) => n.data.type === 'Prompt').data.node.template.template.value = 'Be brief. Question: {question}';
    const second = await http('POST', `${cp}/integrations/langflow/flows:publish`, {
      token: publisher,
      headers: { 'idempotency-key': 'studio-1.1.0' },
      body: { offeringId, version: '1.1.0', changelog: 'Shorter answers', flow },
    });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.notEqual(second.body.sha256, first.body.sha256);
    assert.equal(second.body.certification.status, 'passed');
    const v2 = await http('GET', `${cp}/offerings/${offeringId}/versions/${second.body.versionId}`, { token: publisher });
    assert.equal(v2.body.source, 'langflow');
    assert.deepEqual(v2.body.capabilities, support.capabilities);
    assert.deepEqual(v2.body.plans, support.plans);

    const status1 = await http('GET', `${cp}/integrations/langflow/versions/${first.body.versionId}/status`, { token: publisher });
    assert.equal(status1.status, 200);
    assert.equal(status1.body.isPublishedVersion, true);
    assert.equal(status1.body.offeringLifecycle, 'published');

    const uncertified = await http('POST', `${cp}/integrations/langflow/flows:publish`, {
      token: publisher,
      body: { offeringId, version: '1.2.0', flow: minimalFlow(), certify: false },
    });
    assert.equal(uncertified.status, 201);
    assert.equal(uncertified.body.certification.status, 'pending');

    const unknown = await http('GET', `${cp}/integrations/langflow/versions/ov_00000000000000000000000000/status`, { token: publisher });
    assert.equal(unknown.status, 404);
  });

  test('Langflow Studio may name the offering by slug; naming it both ways or not at all is a 400', async () => {
    const offeringId = await newOffering('langflow-by-slug');
    const bySlug = await http('POST', `${cp}/integrations/langflow/flows:publish`, {
      token: publisher,
      body: { offeringSlug: 'langflow-by-slug', version: '1.0.0', flow: minimalFlow(), capabilities: validCapabilities, plans: validPlans },
    });
    assert.equal(bySlug.status, 201, JSON.stringify(bySlug.body));
    assert.equal(bySlug.body.offeringId, offeringId);
    const both = await http('POST', `${cp}/integrations/langflow/flows:publish`, {
      token: publisher,
      body: { offeringId, offeringSlug: 'langflow-by-slug', version: '1.0.1', flow: minimalFlow() },
    });
    assert.equal(both.status, 400);
    const neither = await http('POST', `${cp}/integrations/langflow/flows:publish`, { token: publisher, body: { version: '1.0.1', flow: minimalFlow() } });
    assert.equal(neither.status, 400);
    const unknownSlug = await http('POST', `${cp}/integrations/langflow/flows:publish`, { token: publisher, body: { offeringSlug: 'no-such-offering', version: '1.0.0', flow: minimalFlow() } });
    assert.equal(unknownSlug.status, 404);
  });
});
