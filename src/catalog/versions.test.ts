import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { listing, minimalFlow, testCatalog, validCapabilities, validPlans, type TestCatalog } from '../../test/support/catalog';
import { openTestDb, type TestDb } from '../../test/support/db';
import { AppError } from '../platform/errors';
import { registryCertifier } from './certifier';
import { createOffering } from './offerings';
import { artifactLink, certifyVersion, createVersion, listVersions } from './versions';

let tdb: TestDb;
let cat: TestCatalog;
before(async () => {
  tdb = await openTestDb();
  cat = testCatalog({ certifier: registryCertifier() });
});
after(async () => {
  await tdb?.close();
  cat?.close();
});

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

async function newVersion(overrides: Partial<Parameters<typeof createVersion>[3]> = {}) {
  const o = await createOffering(cat.env, tdb.db, listing(), 'tester');
  const v = await createVersion(
    cat.env,
    tdb.db,
    o.id,
    { version: '1.0.0', flow: minimalFlow(), capabilities: validCapabilities, plans: validPlans, source: 'api', ...overrides },
    'tester',
  );
  return { offeringId: o.id, version: v };
}

describe('offering versions', () => {
  test('the flow is stored under artifacts/sha256/<hex>.json and the hash is of the exact bytes stored', async () => {
    const { version } = await newVersion();
    const hex = version.artifact.sha256;
    const object = await cat.store.get(`artifacts/sha256/${hex}.json`);
    assert.ok(object);
    assert.equal(createHash('sha256').update(object.bytes).digest('hex'), hex);
    assert.equal(version.artifact.sizeBytes, object.bytes.length);
    assert.equal(version.artifact.uri, `local://objects/artifacts/sha256/${hex}.json`);
    assert.equal(version.artifact.flowId, minimalFlow().id);
    assert.equal(version.certification.status, 'pending');
  });

  test('the same flow with another key order or formatting gets the same sha256 (canonical bytes)', async () => {
    const flow = minimalFlow();
    const reordered = JSON.parse(JSON.stringify({ data: flow.data, endpoint_name: flow.endpoint_name, name: flow.name, id: flow.id }));
    const a = await newVersion({ flow });
    const b = await newVersion({ flow: reordered });
    assert.equal(a.version.artifact.sha256, b.version.artifact.sha256);
  });

  test('a version number is used once per offering (409 ALREADY_EXISTS)', async () => {
    const { offeringId } = await newVersion();
    await assert.rejects(
      createVersion(cat.env, tdb.db, offeringId, { version: '1.0.0', flow: minimalFlow({ name: 'other' }), capabilities: validCapabilities, plans: validPlans, source: 'api' }, 'tester'),
      code('ALREADY_EXISTS'),
    );
  });

  test('versions are immutable in the database: content updates and deletes are refused', async () => {
    const { version } = await newVersion();
    const attempts: Record<string, unknown>[] = [
      { version: '9.9.9' },
      { plans: JSON.stringify([]) },
      { capabilities: JSON.stringify([]) },
      { artifact_sha256: 'a'.repeat(64) },
      { artifact_key: 'artifacts/sha256/other.json' },
      { changelog: 'rewritten history' },
    ];
    for (const set of attempts) {
      await assert.rejects(tdb.db('offering_versions').where({ id: version.id }).update(set), /immutable/, JSON.stringify(set));
    }
    await assert.rejects(tdb.db('offering_versions').where({ id: version.id }).delete(), /immutable/);
    const row = await tdb.db('offering_versions').where({ id: version.id }).first();
    assert.equal(row.version, '1.0.0');
  });

  test('a passed certification is final; the database refuses to undo it', async () => {
    const { offeringId, version } = await newVersion();
    const report = await certifyVersion(cat.env, tdb.db, offeringId, version.id);
    assert.equal(report.status, 'passed', JSON.stringify(report.errors));
    await assert.rejects(tdb.db('offering_versions').where({ id: version.id }).update({ certification_status: 'failed' }), /certified for good/);
    const again = await certifyVersion(cat.env, tdb.db, offeringId, version.id);
    assert.deepEqual(again, report);
  });

  test('certify checks every capability and every plan against the registry and records each issue', async () => {
    const { offeringId, version } = await newVersion({
      capabilities: [
        { id: 'prompt_orchestrator', v: 1, defaults: { temperature: 7 } },
        { id: 'no_such_capability', v: 1 },
        { id: 'chat_ui', v: 2 },
        { id: 'web_widget', v: 1, defaults: { branding: { primaryColor: 'blue' } } },
        { id: 'credits_wallet', v: 1, defaults: { estimatedBudgetPerRun: 100 } },
      ],
      plans: [
        { id: 'starter', name: 'Starter', includedCredits: 1, limits: {}, defaults: { credits_wallet: { maxCreditsPerRun: 50 } } },
        { id: 'pro', name: 'Pro', includedCredits: 1, limits: {}, defaults: {} },
      ],
    });
    const report = await certifyVersion(cat.env, tdb.db, offeringId, version.id);
    assert.equal(report.status, 'failed');
    assert.equal(report.registryVersion, registryCertifier().registryVersion());
    const has = (pred: (e: (typeof report.errors)[number]) => boolean, what: string) => assert.ok(report.errors.some(pred), `${what}: ${JSON.stringify(report.errors, null, 1)}`);
    has((e) => e.capability === 'no_such_capability' && e.code === 'INVALID_CONFIG', 'unknown capability');
    has((e) => e.capability === 'chat_ui' && /v2/.test(e.message), 'unknown capability version');
    has((e) => e.capability === 'prompt_orchestrator' && e.plan === 'starter' && e.path === '/temperature', 'schema violation per plan');
    has((e) => e.capability === 'web_widget' && e.plan === 'pro' && e.path === '/branding/primaryColor', 'nested schema violation');
    has((e) => e.capability === 'credits_wallet' && e.plan === 'starter' && e.path === '/estimatedBudgetPerRun', 'handler validate() on the merged plan config');
    assert.ok(!report.errors.some((e) => e.capability === 'credits_wallet' && e.plan === 'pro'), 'pro has no maxCreditsPerRun below the budget');
    const stored = await tdb.db('offering_versions').where({ id: version.id }).first();
    assert.equal(stored.certification_status, 'failed');
    assert.equal(stored.certification_errors.length, report.errors.length);
  });

  test('a stored artifact that no longer matches its sha256 fails certification with ARTIFACT_INTEGRITY_FAILED', async () => {
    const { offeringId, version } = await newVersion();
    const key = `artifacts/sha256/${version.artifact.sha256}.json`;
    const original = (await cat.store.get(key))!.bytes;
    await cat.store.put(key, Buffer.from(original.toString().replace('Echo', 'Evil')), { contentType: 'application/json' });
    try {
      const report = await certifyVersion(cat.env, tdb.db, offeringId, version.id);
      assert.equal(report.status, 'failed');
      assert.equal(report.errors[0]?.code, 'ARTIFACT_INTEGRITY_FAILED');
      // Fixed storage → a failed version can be checked again and pass.
      await cat.store.put(key, original, { contentType: 'application/json' });
      assert.equal((await certifyVersion(cat.env, tdb.db, offeringId, version.id)).status, 'passed');
    } finally {
      await cat.store.put(key, original, { contentType: 'application/json' });
    }
  });

  test('a version whose artifact is gone cannot be certified (422) and has no download link (503)', async () => {
    const { offeringId, version } = await newVersion({ flow: minimalFlow({ name: 'to be lost' }) });
    await cat.store.delete(`artifacts/sha256/${version.artifact.sha256}.json`);
    await assert.rejects(certifyVersion(cat.env, tdb.db, offeringId, version.id), code('UNPROCESSABLE'));
    await assert.rejects(artifactLink(cat.env, tdb.db, offeringId, version.id, { publisherAdmin: true }), code('STORAGE_UNAVAILABLE'));
  });

  test('a flow holding a secret is refused with 422 naming the node; references are fine', async () => {
    const withKey = minimalFlow({}, { openai_api_key: { type: 'str', password: true, value: 'sk-live-1234567890', load_from_db: false } });
    await assert.rejects(newVersion({ flow: withKey }), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'UNPROCESSABLE');
      assert.equal(e.status, 422);
      assert.equal(e.details?.nodeId, 'ChatInput-aaaaa');
      assert.equal(e.details?.field, 'openai_api_key');
      assert.ok(!JSON.stringify(e.details).includes('sk-live'), 'the secret is never echoed');
      return true;
    });
    for (const template of [
      { api_key: { type: 'str', password: true, value: 'OPENAI_API_KEY', load_from_db: true } },
      { api_key: { type: 'str', password: true, value: '', load_from_db: false } },
      { token: '${HELPDESK_TOKEN}' },
      { max_tokens: { type: 'int', value: 512 } },
    ]) {
      const { version } = await newVersion({ flow: minimalFlow({}, template) });
      assert.ok(version.id.startsWith('ov_'), JSON.stringify(template));
    }
    await assert.rejects(newVersion({ flow: minimalFlow({}, { password: 'hunter2' }) }), code('UNPROCESSABLE'));
    await assert.rejects(newVersion({ flow: minimalFlow({}, { db_password: { value: 'hunter2', password: false } }) }), code('UNPROCESSABLE'));
  });

  test('a malformed flow export is refused with 422 listing every issue', async () => {
    const flow = minimalFlow();
    const bad = {
      ...flow,
      data: {
        nodes: [...flow.data.nodes, { id: 'ChatInput-aaaaa', type: 'genericNode', data: { type: 'ChatInput' } }, { id: 'X-1', type: 'genericNode', data: {} }],
        edges: [...flow.data.edges, { source: 'ChatInput-aaaaa', target: 'Nowhere-zzz' }],
      },
    };
    await assert.rejects(newVersion({ flow: bad }), (e: unknown) => {
      assert.ok(e instanceof AppError && e.code === 'UNPROCESSABLE');
      const issues = e.details?.issues as { path: string; message: string }[];
      assert.ok(issues.some((i) => /duplicates node id/.test(i.message)));
      assert.ok(issues.some((i) => i.path === '/data/nodes/3/data/type'));
      assert.ok(issues.some((i) => /unknown node "Nowhere-zzz"/.test(i.message)));
      return true;
    });
  });

  test('repeated capabilities or plans, and plan config for an unlisted capability, are refused with 422', async () => {
    await assert.rejects(newVersion({ capabilities: [...validCapabilities, validCapabilities[0]!] }), code('UNPROCESSABLE'));
    await assert.rejects(newVersion({ plans: [validPlans[0]!, validPlans[0]!] }), code('UNPROCESSABLE'));
    await assert.rejects(newVersion({ plans: [{ ...validPlans[0]!, defaults: { web_widget: {} } }] }), code('UNPROCESSABLE'));
  });

  test('buyers list only certified versions, newest first, with keyset pages', async () => {
    const o = await createOffering(cat.env, tdb.db, listing(), 'tester');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const v = await createVersion(cat.env, tdb.db, o.id, { version: `1.${i}.0`, flow: minimalFlow({ name: `v${i}` }), capabilities: validCapabilities, plans: validPlans, source: 'api' }, 'tester');
      if (i !== 2) await certifyVersion(cat.env, tdb.db, o.id, v.id);
      ids.push(v.id);
    }
    await tdb.db('offerings').where({ id: o.id }).update({ lifecycle: 'published', published_version_id: ids[0] });
    const page1 = await listVersions(tdb.db, o.id, { limit: 2 }, false);
    const page2 = await listVersions(tdb.db, o.id, { limit: 2, cursor: page1.nextCursor! }, false);
    assert.deepEqual([...page1.items, ...page2.items].map((v) => v.version), ['1.4.0', '1.3.0', '1.1.0', '1.0.0']);
    assert.equal(page2.nextCursor, null);
    assert.equal((await listVersions(tdb.db, o.id, { limit: 50 }, true)).items.length, 5);
  });
});
