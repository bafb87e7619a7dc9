/**
 * Catalog search benchmark (search over 10,000 offerings, target p95 ≤ 20 ms).
 *
 *   npx tsx scripts/bench-catalog.ts            # DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test
 *   BENCH_OFFERINGS=10000 BENCH_ITERATIONS=40 npx tsx scripts/bench-catalog.ts
 *
 * Loads N realistic offerings (names, summaries, descriptions from a domain vocabulary; 1–2 value
 * streams, 3–7 capabilities, 0–3 connectors, 1–4 languages; 85 % published) with one version
 * each into a throwaway schema, runs ANALYZE, then times `searchOfferings` — the exact code the
 * API runs, including row mapping and cursor encoding — for a mix of queries: full text
 * (relevance), each filter, combined filters, name order, publisher-admin listing, and deep
 * keyset pagination (pages 40–60 of a 50-per-page walk). Reports p50/p95/p99 in ms per query
 * kind and overall, the indexes each kind's plan uses (EXPLAIN ANALYZE), as JSON on stdout and in
 * bench-results/catalog.json. The schema is dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Knex } from 'knex';
import type { ListOfferingsQuery } from '../generated/control-plane/types';
import { searchOfferings } from '../src/catalog/search';
import { createDb } from '../src/db/create-db';
import { migrateLatest } from '../src/db/migrate';
import { newId } from '../src/platform/ids';

const URL_ = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.env.BENCH_OFFERINGS ?? 10_000);
const ITER = Number(process.env.BENCH_ITERATIONS ?? 40);
const TARGET_P95_MS = 20;

// ── a small deterministic PRNG so every run loads the same catalog ──
let seed = 0x5eed1234;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);
const some = <T>(xs: readonly T[], min: number, max: number): T[] => {
  const n = min + Math.floor(rand() * (max - min + 1));
  const pool = [...xs];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
  return out;
};

const CATEGORIES = ['agents', 'apps', 'assistants', 'automations'] as const;
const STREAMS = ['customer_support', 'sales_outreach', 'docs_knowledge', 'ops_it', 'marketing_content', 'recruiting_hr', 'finance_ops', 'executive_assistant'] as const;
const CAPS = ['prompt_orchestrator', 'tool_connectors', 'mcp_tools', 'human_handover', 'api_endpoint', 'chat_ui', 'web_widget', 'multilingual', 'multimodal_vision', 'multimodal_audio', 'rag_knowledgebase', 'guardrails_policy', 'audit_trail', 'scheduler_triggers', 'observability', 'credits_wallet'];
const CONNECTORS = ['slack', 'gmail', 'outlook', 'hubspot', 'salesforce', 'zendesk', 'jira', 'github', 'notion', 'google_drive', 'sharepoint', 'generic_http', 'stripe', 'quickbooks'];
const LANGS = ['en', 'de', 'fr', 'es', 'it', 'nl', 'pt', 'pl', 'sv', 'da', 'fi', 'ja', 'ko', 'zh', 'ar'];
const MODALITIES = ['text', 'image', 'audio', 'document'] as const;
const LIFECYCLE: [string, number][] = [['published', 0.85], ['draft', 0.05], ['paused', 0.04], ['eos', 0.03], ['eol', 0.03]];

const TOPIC: Record<(typeof STREAMS)[number], { nouns: string[]; verbs: string[] }> = {
  customer_support: { nouns: ['ticket', 'customer', 'refund', 'order', 'complaint', 'helpdesk', 'chat', 'return'], verbs: ['answers', 'triages', 'resolves', 'escalates', 'routes'] },
  sales_outreach: { nouns: ['lead', 'prospect', 'pipeline', 'email', 'meeting', 'deal', 'CRM', 'follow-up'], verbs: ['qualifies', 'drafts', 'personalises', 'books', 'enriches'] },
  docs_knowledge: { nouns: ['documentation', 'manual', 'policy', 'wiki', 'knowledge base', 'FAQ', 'handbook', 'citation'], verbs: ['answers', 'searches', 'summarises', 'cites', 'explains'] },
  ops_it: { nouns: ['incident', 'alert', 'runbook', 'server', 'deployment', 'access request', 'outage', 'log'], verbs: ['diagnoses', 'triages', 'automates', 'monitors', 'remediates'] },
  marketing_content: { nouns: ['blog post', 'campaign', 'newsletter', 'social post', 'landing page', 'SEO', 'brand voice', 'ad copy'], verbs: ['writes', 'plans', 'repurposes', 'optimises', 'schedules'] },
  recruiting_hr: { nouns: ['candidate', 'CV', 'interview', 'job description', 'onboarding', 'leave request', 'payroll question', 'policy'], verbs: ['screens', 'schedules', 'drafts', 'answers', 'onboards'] },
  finance_ops: { nouns: ['invoice', 'expense', 'purchase order', 'reconciliation', 'budget', 'receipt', 'ledger', 'forecast'], verbs: ['reconciles', 'extracts', 'approves', 'categorises', 'forecasts'] },
  executive_assistant: { nouns: ['calendar', 'inbox', 'meeting notes', 'travel', 'briefing', 'agenda', 'follow-up', 'report'], verbs: ['summarises', 'schedules', 'prepares', 'drafts', 'prioritises'] },
};
const STREAM_LABEL: Record<(typeof STREAMS)[number], string> = {
  customer_support: 'customer support',
  sales_outreach: 'sales outreach',
  docs_knowledge: 'documentation and knowledge management',
  ops_it: 'IT operations',
  marketing_content: 'marketing content',
  recruiting_hr: 'recruiting and HR',
  finance_ops: 'finance operations',
  executive_assistant: 'executive assistance',
};
const ADJ = ['Smart', 'Swift', 'Precise', 'Friendly', 'Autonomous', 'Reliable', 'Multilingual', 'Secure', 'Tireless', 'Insightful'];
const ROLE = ['Assistant', 'Agent', 'Copilot', 'Bot', 'Desk', 'Navigator', 'Analyst', 'Concierge', 'Pilot', 'Worker'];

function offeringRow(i: number, now: number) {
  const streams = some(STREAMS, 1, 2);
  const t = TOPIC[streams[0]!];
  const n1 = pick(t.nouns);
  const n2 = pick(t.nouns);
  const v1 = pick(t.verbs);
  const name = `${pick(ADJ)} ${n1.replace(/\b\w/g, (c) => c.toUpperCase())} ${pick(ROLE)} ${i}`;
  const audience = pick(['your team', 'growing companies', 'small businesses', 'enterprise departments', 'busy founders', 'agencies', 'operations leads', 'distributed teams']);
  const summary = pick([
    `${cap(v1)} ${n1}s and ${n2}s for ${audience}, around the clock.`,
    `Your ${pick(ROLE).toLowerCase()} for ${n1}s: it ${v1} them and ${pick(t.verbs)} every ${n2}.`,
    `${cap(v1)} ${n1}s in seconds, with ${n2}s handled end to end.`,
    `Hands-free ${n1} work for ${audience}.`,
  ]);
  const description = [
    pick([
      `This ${pick(ROLE).toLowerCase()} ${v1} ${n1}s, ${pick(t.verbs)} ${n2}s and ${pick(t.verbs)} ${pick(t.nouns)}s so people can focus on the work that matters.`,
      `Point it at your ${n1}s and it ${v1} them, flags the ${n2}s that need a human and keeps everyone in the loop.`,
      `From the first ${n1} to the last ${n2}, it ${v1} the routine work and hands over the exceptions.`,
    ]),
    `Built for ${streams.map((x) => STREAM_LABEL[x]).join(' and ')} teams.`,
    pick([
      `It connects to the tools you already use, keeps a full audit trail and respects your data boundaries.`,
      `Every action is logged, every answer cites its source, and nothing leaves your workspace.`,
      `Set it up in minutes with your own ${pick(t.nouns)} templates and approval rules.`,
    ]),
    `Typical users save ${2 + Math.floor(rand() * 20)} hours a week on ${pick(t.nouns)} work.`,
    rand() < 0.5 ? `Works in ${some(['English', 'German', 'French', 'Spanish', 'Japanese'], 1, 3).join(', ')}.` : `Includes a website widget and an API.`,
  ].join(' ');
  let r = rand();
  const lifecycle = LIFECYCLE.find(([, p]) => (r -= p) < 0)?.[0] ?? 'published';
  const created = new Date(now - Math.floor(rand() * 365 * 24 * 3600 * 1000));
  const langs = rand() < 0.8 ? ['en', ...some(LANGS.slice(1), 0, 3)] : some(LANGS, 1, 3);
  return {
    id: newId('off', created.getTime()),
    slug: `bench-${i}`,
    name,
    category: pick(CATEGORIES),
    summary,
    description,
    value_streams: streams,
    capabilities: some(CAPS, 3, 7),
    connectors: some(CONNECTORS, 0, 3),
    languages: langs,
    modalities: rand() < 0.7 ? ['text'] : some(MODALITIES, 1, 3),
    lifecycle,
    plans: JSON.stringify([{ id: 'starter', name: 'Starter', includedCredits: 500 }, { id: 'pro', name: 'Pro', includedCredits: 20000 }]),
    created_at: created,
    updated_at: created,
  };
}

async function load(db: Knex): Promise<void> {
  const now = Date.now();
  const rows = Array.from({ length: N }, (_, i) => offeringRow(i, now));
  for (let i = 0; i < rows.length; i += 500) {
    const batch = rows.slice(i, i + 500);
    await db('offerings').insert(batch.map((r) => ({ ...r, lifecycle: 'draft' })));
    const versions = batch.map((r) => ({
      id: newId('ov', r.created_at.getTime()),
      offering_id: r.id,
      version: '1.0.0',
      source: 'api',
      flow_id: r.slug,
      artifact_key: `artifacts/sha256/${'0'.repeat(64)}.json`,
      artifact_uri: `s3://bench/artifacts/sha256/${'0'.repeat(64)}.json`,
      artifact_sha256: '0'.repeat(64),
      artifact_size: 1000,
      capabilities: JSON.stringify(r.capabilities.map((id) => ({ id, v: 1 }))),
      plans: JSON.stringify([]),
      created_at: r.created_at,
      certification_status: 'passed',
      certified_at: r.created_at,
    }));
    await db('offering_versions').insert(versions);
    for (const [k, v] of versions.entries()) {
      const o = batch[k]!;
      (o as Record<string, unknown>).published_version_id = v.id;
    }
    await db.raw(
      `update offerings o set lifecycle = v.lifecycle, published_version_id = case when v.lifecycle = 'draft' then null else v.pv end, latest_version_id = v.pv
         from (select unnest(?::text[]) as id, unnest(?::text[]) as lifecycle, unnest(?::text[]) as pv) v where o.id = v.id`,
      [batch.map((b) => b.id), batch.map((b) => b.lifecycle), batch.map((b) => (b as unknown as { published_version_id: string }).published_version_id)],
    );
  }
  // As autovacuum would after a bulk load: reclaim the draft→published row versions, refresh stats.
  await db.raw('vacuum analyze offerings');
  await db.raw('vacuum analyze offering_versions');
}

interface Case {
  kind: string;
  query: ListOfferingsQuery;
  admin?: boolean;
}

const TEXT = ['support', 'invoice', 'knowledge base', 'sales email', 'recruit', 'summar', 'ticket triage', 'incident runbook', 'calendar', 'campaign newsletter', 'reconcil', 'onboarding'];
const CASES: Case[] = [
  ...TEXT.map((q) => ({ kind: 'text', query: { q, limit: 20 } })),
  ...CATEGORIES.map((category) => ({ kind: 'filter:category', query: { category, limit: 20 } })),
  ...STREAMS.map((valueStream) => ({ kind: 'filter:valueStream', query: { valueStream, limit: 20 } })),
  ...['rag_knowledgebase', 'web_widget', 'multimodal_audio', 'human_handover'].map((capability) => ({ kind: 'filter:capability', query: { capability, limit: 20 } })),
  ...['slack', 'salesforce', 'quickbooks', 'zendesk'].map((connector) => ({ kind: 'filter:connector', query: { connector, limit: 20 } })),
  ...['en', 'de', 'ja', 'ar'].map((language) => ({ kind: 'filter:language', query: { language, limit: 20 } })),
  ...(['image', 'audio', 'document', 'text'] as const).map((modality) => ({ kind: 'filter:modality', query: { modality, limit: 20 } })),
  { kind: 'combined', query: { q: 'invoice', category: 'automations', language: 'en', limit: 20 } },
  { kind: 'combined', query: { valueStream: 'customer_support', capability: 'web_widget', language: 'de', limit: 20 } },
  { kind: 'combined', query: { q: 'ticket', valueStream: 'customer_support', connector: 'zendesk', limit: 20 } },
  { kind: 'combined', query: { category: 'assistants', modality: 'audio', capability: 'multilingual', limit: 20 } },
  { kind: 'combined', query: { q: 'support', category: 'agents', valueStream: 'customer_support', capability: 'chat_ui', connector: 'slack', language: 'en', modality: 'text', limit: 20 } },
  { kind: 'sort:name', query: { sort: 'name', limit: 50 } },
  { kind: 'sort:newest', query: { sort: 'newest', limit: 50 } },
  { kind: 'admin:all', query: { limit: 50 }, admin: true },
  { kind: 'admin:draft', query: { lifecycle: 'draft', limit: 50 }, admin: true },
];

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 1000) / 1000;
  return { n: s.length, p50: r(percentile(s, 50)), p95: r(percentile(s, 95)), p99: r(percentile(s, 99)), max: r(s.at(-1) ?? NaN) };
};

/** Index names (and scan types) in a plan, from EXPLAIN (ANALYZE, FORMAT JSON). */
function planSummary(plan: any): { indexes: string[]; nodes: string[]; executionMs: number } {
  const indexes = new Set<string>();
  const nodes = new Set<string>();
  const walk = (n: any) => {
    if (!n) return;
    nodes.add(n['Node Type']);
    if (n['Index Name']) indexes.add(n['Index Name']);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(plan[0].Plan);
  return { indexes: [...indexes].sort(), nodes: [...nodes].sort(), executionMs: plan[0]['Execution Time'] };
}

async function explain(db: Knex, c: Case): Promise<ReturnType<typeof planSummary>> {
  let captured: { sql: string; bindings: readonly unknown[] } | undefined;
  const onQuery = (q: { sql: string; bindings: readonly unknown[] }) => {
    captured ??= { sql: q.sql, bindings: [...(q.bindings ?? [])] };
  };
  db.on('query', onQuery);
  try {
    await searchOfferings(db, c.query, { publisherAdmin: !!c.admin });
  } finally {
    db.removeListener('query', onQuery);
  }
  // The event carries pg's native SQL ($1, $2, … in order); knex.raw wants `?` placeholders.
  const sql = captured!.sql.replace(/\$\d+/g, '?');
  const res = await db.raw(`explain (analyze, format json) ${sql}`, captured!.bindings as Knex.RawBinding[]);
  return planSummary(res.rows[0]['QUERY PLAN']);
}

async function main() {
  const schema = `bench_catalog_${randomBytes(4).toString('hex')}`;
  const db = await createDb({ url: URL_, searchPath: schema, poolMax: 4 });
  const started = Date.now();
  try {
    await db.raw(`create schema "${schema}"`);
    await migrateLatest(db);
    const t0 = performance.now();
    await load(db);
    const loadMs = performance.now() - t0;
    const counts = await db('offerings').select('lifecycle').count('* as n').groupBy('lifecycle');

    // Warm up (plans, caches), then time every case ITER times, interleaved.
    for (const c of CASES) await searchOfferings(db, c.query, { publisherAdmin: !!c.admin });
    const byKind = new Map<string, number[]>();
    const add = (kind: string, ms: number) => (byKind.get(kind) ?? byKind.set(kind, []).get(kind)!).push(ms);
    for (let it = 0; it < ITER; it++) {
      for (const c of CASES) {
        const s = performance.now();
        const page = await searchOfferings(db, c.query, { publisherAdmin: !!c.admin });
        add(c.kind, performance.now() - s);
        if (it === 0 && page.items.length === 0 && c.kind !== 'admin:draft') console.error(`note: ${c.kind} ${JSON.stringify(c.query)} returned no rows`);
      }
    }
    // Deep pagination: walk 60 pages of 50 (newest and name order) and time pages 40–60.
    let deepestPage = 0;
    for (let it = 0; it < Math.max(3, Math.floor(ITER / 8)); it++) {
      for (const sort of ['newest', 'name'] as const) {
        let cursor: string | undefined;
        for (let page = 1; page <= 60; page++) {
          const s = performance.now();
          const res = await searchOfferings(db, { sort, limit: 50, ...(cursor ? { cursor } : {}) }, { publisherAdmin: false });
          if (page >= 40) add('deep-pagination', performance.now() - s);
          deepestPage = Math.max(deepestPage, page);
          if (!res.nextCursor) break;
          cursor = res.nextCursor;
        }
      }
      // Deep pages of a broad text search (relevance keyset: every page re-ranks all matches).
      let cursor: string | undefined;
      for (let page = 1; page <= 40; page++) {
        const s = performance.now();
        const res = await searchOfferings(db, { q: 'support', limit: 50, ...(cursor ? { cursor } : {}) }, { publisherAdmin: false });
        if (page >= 10) add('deep-pagination:text', performance.now() - s);
        if (!res.nextCursor) break;
        cursor = res.nextCursor;
      }
    }

    const all = [...byKind.values()].flat();
    const kinds = Object.fromEntries([...byKind.entries()].map(([k, v]) => [k, stats(v)]));
    const plans: Record<string, ReturnType<typeof planSummary> & { query: ListOfferingsQuery }> = {};
    for (const c of CASES) if (!plans[c.kind]) plans[c.kind] = { query: c.query, ...(await explain(db, c)) };
    const extra: Case[] = [
      CASES.find((x) => x.query.q === 'support')!,
      CASES.find((x) => x.query.valueStream === 'finance_ops')!,
      { kind: 'filter:rare combination', query: { connector: 'quickbooks', language: 'ja', limit: 20 } },
    ];
    for (const c of extra) {
      plans[`${c.kind} (${JSON.stringify(c.query)})`] = { query: c.query, ...(await explain(db, c)) };
    }
    // A deep page (the 30th of 50 in newest order): the keyset condition is an index condition.
    {
      let cursor: string | undefined;
      for (let page = 1; page < 30; page++) cursor = (await searchOfferings(db, { sort: 'newest', limit: 50, ...(cursor ? { cursor } : {}) }, { publisherAdmin: false })).nextCursor ?? undefined;
      const deep: Case = { kind: 'deep-pagination', query: { sort: 'newest', limit: 50, cursor } };
      plans['deep-pagination (page 30, newest)'] = { query: { sort: 'newest', limit: 50, cursor: '<page 30>' }, ...(await explain(db, deep)) };
    }
    const serverVersion = (await db.raw('show server_version')).rows[0].server_version;
    const overall = stats(all);
    const result = {
      benchmark: 'catalog-search',
      when: new Date().toISOString(),
      database: { engine: 'postgresql', serverVersion, url: URL_.replace(/\/\/([^@/]*)@/, '//[redacted]@') },
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      offerings: N,
      byLifecycle: Object.fromEntries(counts.map((c: any) => [c.lifecycle, Number(c.n)])),
      loadSeconds: Math.round(loadMs) / 1000,
      iterationsPerCase: ITER,
      cases: CASES.length,
      deepestPageWalked: deepestPage,
      measuredIn: 'ms per searchOfferings() call (SQL + row mapping + cursor), client on the same machine',
      overall,
      byKind: kinds,
      target: { p95Ms: TARGET_P95_MS, met: overall.p95 <= TARGET_P95_MS && Object.values(kinds).every((k) => k.p95 <= TARGET_P95_MS) },
      plans,
      totalSeconds: (Date.now() - started) / 1000,
    };
    const json = JSON.stringify(result, null, 2);
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/catalog.json', json + '\n');
    console.log(json);
  } finally {
    if (process.env.BENCH_KEEP_SCHEMA === '1') console.error(`kept schema ${schema}`);
    else await db.raw(`drop schema if exists "${schema}" cascade`).catch(() => {});
    await db.destroy();
  }
}

main().catch((err) => {
  console.error('bench-catalog failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
