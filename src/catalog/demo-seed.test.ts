import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import { getOffering, listVersions, searchOfferings } from '.';
import { LocalObjectStore } from '../storage/local-object-store';
import { DEMO_OFFERINGS, seedDemo } from './demo-seed';

let tdb: TestDb;
let dir: string;
let store: LocalObjectStore;
const quiet = { info: () => {} };

before(async () => {
  tdb = await openTestDb();
  dir = mkdtempSync(join(tmpdir(), 'seed-'));
  store = new LocalObjectStore({ root: join(dir, 'objects'), baseUrl: 'http://127.0.0.1:9' });
});
after(async () => {
  await tdb?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('seedDemo publishes the Assistant and the RAG agent with certified versions and three plans, and a second run changes nothing', async () => {
  const first = await seedDemo(tdb.db, store, quiet);
  assert.deepEqual(first.map((s) => s.slug), ['support-assistant', 'docs-knowledge-agent']);
  assert.ok(first.every((s) => s.changes.includes('certified') && s.changes.includes('published')));

  for (const s of first) {
    const o = await getOffering(tdb.db, s.offeringId, false);
    assert.equal(o.lifecycle, 'published');
    assert.equal(o.publishedVersionId, s.versionId);
    assert.deepEqual(o.plans.map((p) => p.id), ['starter', 'pro', 'enterprise']);
    const [v] = (await listVersions(tdb.db, s.offeringId, {}, false)).items;
    assert.equal(v?.certification.status, 'passed');
    assert.equal(v?.source, 'langflow');
    assert.ok(await store.get(`artifacts/sha256/${v!.artifact.sha256}.json`));
  }
  const rag = (await searchOfferings(tdb.db, { capability: 'rag_knowledgebase' }, { publisherAdmin: false })).items;
  assert.deepEqual(rag.map((o) => o.slug), ['docs-knowledge-agent']);
  const support = (await searchOfferings(tdb.db, { q: 'customer questions', valueStream: 'customer_support' }, { publisherAdmin: false })).items;
  assert.deepEqual(support.map((o) => o.slug), ['support-assistant']);

  const second = await seedDemo(tdb.db, store, quiet);
  assert.deepEqual(second.map((s) => s.changes), [[], []]);
  assert.deepEqual(second.map((s) => s.versionId), first.map((s) => s.versionId));
  assert.equal((await tdb.db('offerings').count('* as n'))[0]!.n, DEMO_OFFERINGS.length);
});
