import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Offering, ValueStream } from '../../generated/control-plane/types';
import { offeringIn, testCatalog, type TestCatalog } from '../../test/support/catalog';
import { openTestDb, type TestDb } from '../../test/support/db';
import { AppError } from '../platform/errors';
import { searchOfferings, type SearchQuery } from './search';

let tdb: TestDb;
let cat: TestCatalog;
const published: Offering[] = [];
const drafts: Offering[] = [];

const STREAMS: ValueStream[] = ['customer_support', 'sales_outreach', 'docs_knowledge', 'ops_it'];
const CATEGORIES = ['agents', 'apps', 'assistants', 'automations'] as const;

before(async () => {
  tdb = await openTestDb();
  cat = testCatalog();
  for (let i = 0; i < 40; i++) {
    const { offering } = await offeringIn(cat.env, tdb.db, 'published', {
      name: i === 7 ? 'Invoice Reconciler' : `Helper ${String(i).padStart(2, '0')}`,
      summary: i === 11 ? 'Reconciles invoices against purchase orders.' : 'Does useful work for your team.',
      description: i === 13 ? 'Mentions invoices only deep in the description.' : 'Plain description.',
      category: CATEGORIES[i % 4],
      valueStreams: [STREAMS[i % 4]!, ...(i % 5 === 0 ? (['finance_ops'] as ValueStream[]) : [])],
      connectors: i % 3 === 0 ? ['slack', 'generic_http'] : ['generic_http'],
      languages: i % 2 === 0 ? ['en', 'de'] : ['en'],
      modalities: i % 6 === 0 ? ['text', 'image'] : ['text'],
    }, i % 4 === 0 ? { capabilities: [{ id: 'rag_knowledgebase', v: 1 }, { id: 'credits_wallet', v: 1 }], plans: [{ id: 'starter', name: 'S', includedCredits: 1, limits: {}, defaults: {} }] } : {});
    published.push(offering);
  }
  for (let i = 0; i < 3; i++) drafts.push((await offeringIn(cat.env, tdb.db, 'draft', { name: `Secret draft ${i}`, summary: 'Invoices, unreleased.' })).offering);
  drafts.push((await offeringIn(cat.env, tdb.db, 'paused', { name: 'Paused helper', summary: 'Invoices, paused.' })).offering);
});
after(async () => {
  await tdb?.close();
  cat?.close();
});

const anon = { publisherAdmin: false };
const admin = { publisherAdmin: true };

async function all(query: SearchQuery, who = anon, limit = 7): Promise<Offering[]> {
  const out: Offering[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await searchOfferings(tdb.db, { ...query, limit, ...(cursor ? { cursor } : {}) }, who);
    assert.ok(page.items.length <= limit);
    out.push(...page.items);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

describe('catalog search', () => {
  test('anonymous callers see only published offerings; publisher admins see every state', async () => {
    const seen = await all({});
    assert.equal(seen.length, published.length);
    assert.ok(seen.every((o) => o.lifecycle === 'published'));
    const everything = await all({}, admin);
    assert.equal(everything.length, published.length + drafts.length);
    assert.deepEqual((await all({ lifecycle: 'draft' }, admin)).map((o) => o.lifecycle), ['draft', 'draft', 'draft']);
  });

  test('a non-publisher asking for another lifecycle is refused with 400', async () => {
    await assert.rejects(searchOfferings(tdb.db, { lifecycle: 'draft' }, anon), (e: unknown) => e instanceof AppError && e.code === 'VALIDATION_FAILED');
    assert.equal((await searchOfferings(tdb.db, { lifecycle: 'published', limit: 200 }, anon)).items.length, published.length);
  });

  test('newest order pages through every offering exactly once, newest first', async () => {
    const seen = await all({ sort: 'newest' });
    assert.equal(new Set(seen.map((o) => o.id)).size, published.length);
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1]!, seen[i]!];
      assert.ok(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id), `order broken at ${i}`);
    }
  });

  test('name order pages through every offering exactly once, alphabetically', async () => {
    const seen = await all({ sort: 'name' }, anon, 6);
    assert.equal(seen.length, published.length);
    assert.deepEqual(seen.map((o) => o.name), [...published.map((o) => o.name)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  test('full-text search matches name, summary and description, ranks name matches first, and finds word prefixes', async () => {
    const hits = await all({ q: 'invoice' }, anon, 2);
    assert.deepEqual(hits.map((o) => o.name), ['Invoice Reconciler', 'Helper 11', 'Helper 13']);
    const prefix = await all({ q: 'reconcil' });
    assert.deepEqual(prefix.map((o) => o.name).sort(), ['Helper 11', 'Invoice Reconciler']);
    assert.deepEqual((await all({ q: 'invoices purchase' })).map((o) => o.name), ['Helper 11']);
    assert.deepEqual(await all({ q: 'no-such-word-anywhere' }), []);
    // Punctuation cannot inject tsquery syntax; a query without words matches nothing.
    assert.deepEqual(await all({ q: "!&|:*()'" }), []);
    // Drafts never leak through search, even when they match.
    assert.ok((await all({ q: 'unreleased' })).length === 0);
    assert.equal((await all({ q: 'unreleased' }, admin)).length, 3);
  });

  test('each filter narrows to exactly the matching offerings', async () => {
    const expect = (pred: (o: Offering) => boolean) => published.filter(pred).map((o) => o.id).sort();
    const ids = async (q: SearchQuery) => (await all(q)).map((o) => o.id).sort();
    assert.deepEqual(await ids({ category: 'apps' }), expect((o) => o.category === 'apps'));
    assert.deepEqual(await ids({ valueStream: 'finance_ops' }), expect((o) => o.valueStreams.includes('finance_ops')));
    assert.deepEqual(await ids({ capability: 'rag_knowledgebase' }), expect((o) => o.capabilities.includes('rag_knowledgebase')));
    assert.deepEqual(await ids({ connector: 'slack' }), expect((o) => o.connectors.includes('slack')));
    assert.deepEqual(await ids({ language: 'de' }), expect((o) => o.languages.includes('de')));
    assert.deepEqual(await ids({ modality: 'image' }), expect((o) => o.modalities.includes('image')));
    assert.ok((await ids({ capability: 'rag_knowledgebase' })).length === 10);
  });

  test('filters combine with AND, also with text search', async () => {
    const got = (await all({ category: 'agents', language: 'de', connector: 'slack' })).map((o) => o.name).sort();
    const want = published
      .filter((o) => o.category === 'agents' && o.languages.includes('de') && o.connectors.includes('slack'))
      .map((o) => o.name)
      .sort();
    assert.deepEqual(got, want);
    assert.ok(want.length > 0);
    assert.deepEqual((await all({ q: 'invoice', category: 'automations' })).map((o) => o.name), published.filter((o) => o.category === 'automations' && ['Helper 11', 'Invoice Reconciler', 'Helper 13'].includes(o.name)).map((o) => o.name));
  });

  test('listed offerings carry the published version\'s capabilities and plans', async () => {
    const o = (await searchOfferings(tdb.db, { capability: 'rag_knowledgebase', limit: 1 }, anon)).items[0]!;
    assert.deepEqual(o.capabilities, ['rag_knowledgebase', 'credits_wallet']);
    assert.deepEqual(o.plans, [{ id: 'starter', name: 'S', trial: true, includedCredits: 1 }]);
    assert.ok(o.publishedVersionId?.startsWith('ov_'));
  });

  test('a tampered cursor, or one replayed with other filters or order, is refused with 400 VALIDATION_FAILED', async () => {
    const page = await searchOfferings(tdb.db, { sort: 'newest', limit: 5 }, anon);
    const cursor = page.nextCursor!;
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    const forged = (o: object) => Buffer.from(JSON.stringify({ ...decoded, ...o })).toString('base64url');
    const bad = [
      'not-a-cursor!',
      Buffer.from('{"v":1}').toString('base64url'),
      forged({ k: 'yesterday' }),
      forged({ id: "off_1' or 1=1 --" }),
      forged({ extra: true }),
      cursor.slice(0, -3),
    ];
    for (const c of bad) {
      await assert.rejects(searchOfferings(tdb.db, { sort: 'newest', limit: 5, cursor: c }, anon), (e: unknown) => e instanceof AppError && e.code === 'VALIDATION_FAILED', c);
    }
    await assert.rejects(searchOfferings(tdb.db, { sort: 'newest', limit: 5, cursor, category: 'apps' }, anon), /other filters/);
    await assert.rejects(searchOfferings(tdb.db, { sort: 'name', limit: 5, cursor }, anon), /another sort order/);
    await assert.rejects(searchOfferings(tdb.db, { sort: 'newest', limit: 5, cursor }, admin), /other filters/);
    // The genuine cursor still works.
    assert.equal((await searchOfferings(tdb.db, { sort: 'newest', limit: 5, cursor }, anon)).items.length, 5);
  });
});
