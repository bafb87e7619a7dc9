/**
 * Gateway overhead benchmark: `npm run bench:gateway`.
 *
 * Starts the Control Plane (on PostgreSQL, in a throwaway schema) in a child process of its own
 * (BENCH_CP_PROCESS=child, the default: the two cores are shared as in a deployment, and the
 * gateway reaches it over real HTTP between processes; `same` runs it in this process, which also
 * gives the SQL attribution below), the Runner and the Gateway in this process (LOG_LEVEL=warn,
 * no response validation, as in production), creates a workspace
 * and an active instance of the Support Assistant demo flow with plenty of credits, then
 * measures side by side, at the same fixed concurrency and duration, with the same keep-alive
 * HTTP client and the same input:
 *   (a) the Runner called directly (what a run costs without the gateway),
 *   (b) POST /v1/runs through the gateway (auth, entitlements, rate limit, authorize, Runner, settle).
 * (a) and (b) alternate in BENCH_ROUNDS stretches (default 3, BENCH_SECONDS split between them) so
 * that both meet the same machine: the throughput ratio of each round is reported, and their
 * median is the ratio the goals read (a shared machine's speed drifts by a third within minutes).
 * Reported: runs/s, latency p50/p90/p99 of each, and the gateway overhead p50/p99, both from the
 * X-Gateway-Overhead-Ms header and as the difference of the two latency distributions; the part
 * of the overhead that is the gateway's own work (overhead minus the Control Plane waits its
 * Server-Timing header reports); and, for attribution, (c) the authorize+settle pair called on
 * the Control Plane directly, and the SQL statements each call costs. Each concurrency in
 * BENCH_CONCURRENCY (default "1,32": unloaded and loaded) runs these on one hot wallet and, when
 * above 1, again with the load spread over BENCH_WALLETS workspaces (default 32), because every
 * authorize/settle of one wallet serialises on its row lock in the Control Plane.
 *
 * The instance's plan: the demo plans cap at 1,200 runs/min (enterprise), and chat_ui caps a
 * user at 600/min, so a 1,000 runs/s target could only ever measure 429s. The bench publishes the
 * same demo flow as a "bench" offering whose plan allows 100,000/min and without chat_ui (no
 * per-user bucket); every run still goes through the rate limiter.
 *
 * Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), BENCH_CONCURRENCY
 * ("1,32"), BENCH_SECONDS (10 per scenario), BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (3), BENCH_POOL (20), BENCH_WALLETS (32),
 * REDIS_URL (optional: shared rate-limit counters), BENCH_CP_PROCESS (child | same), GATEWAY_QUOTA_RUNS (the
 * gateway's credit quotas, src/gateway/quotas.ts; 0 admits every run through the Control Plane), GATEWAY_USAGE_JOURNAL
 * (default true: quota runs' charges are recorded in the usage journal of the bench's schema,
 * src/gateway/usage-journal.ts; false: charged over HTTP).
 * Writes JSON to stdout and bench-results/gateway.json. The gateway's quotas are given back
 * (the stack's drain) before the money check, which then expects nothing held.
 *
 * Goals (printed as PASS/FAIL lines and written under `goals`): at c=1 the overhead header p50 ≤ 1 ms
 * + the p50 of one bare PostgreSQL commit measured in the same run, p99 ≤ 10 ms; at the highest
 * concurrency gateway runs/s ≥ 50 % of runner-direct across the wallets and ≥ 40 % on one hot
 * wallet; stall isolation: with one wallet's row locked for BENCH_STALL_SECONDS (30), the other
 * wallets' p99 stays within 2× their p99 under the same load with nothing locked; money exact.
 *
 * Streaming: at c=1, `Accept: text/event-stream` through the gateway vs the Runner
 * called directly with the same header: time to the first byte of the body and to the first
 * `delta` event (a Runner that does not stream yet answers JSON: its first delta is its whole answer).
 */
import '../src/platform/v8-flags';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createDb } from '../src/db/create-db';
import { migrateLatest } from '../src/db/migrate';
import { createHttpClient, type HttpClient } from '../src/platform/service-client/http-json';
import { loadConfig } from '../src/platform/config';
import { createLogger } from '../src/platform/logger';
import { newId } from '../src/platform/ids';
import { walletBatcher } from '../src/money/wallet-batch';
import { quotaCharges } from '../src/money/quota-charges';
import { startStack } from '../src/stack';
import { percentiles, runLoad, type Percentiles } from './bench/load';

const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,32').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const poolMax = Number(process.env.BENCH_POOL ?? 20);
const walletCount = Math.max(1, Number(process.env.BENCH_WALLETS ?? 32));
const cpProcess = process.env.BENCH_CP_PROCESS === 'same' ? 'same' : 'child';
const rounds = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS ?? 3)));

/** A free TCP port on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The Control Plane alone in a child process (`scripts/start.ts control-plane`), on the bench's schema. */
async function startControlPlaneProcess(env: Record<string, string | undefined>, schema: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  // BENCH_CP_PROF=<dir>: a CPU profile of the child, written there when it stops.
  // BENCH_CP_NODE_ARGS: more node/V8 flags for the child (e.g. --trace-deopt, with BENCH_CP_LOG).
  const profile = [...(process.env.BENCH_CP_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CP_PROF}`] : []), ...(process.env.BENCH_CP_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(new URL('./start.ts', import.meta.url)), 'control-plane'], {
    env: { ...env, DATABASE_URL: url.toString(), CP_PORT: String(port), CP_BASE: `http://127.0.0.1:${port}` },
    // BENCH_CP_LOG=<file>: the child's log lines (with LOG_LEVEL=info, one per request with its duration).
    stdio: ['ignore', process.env.BENCH_CP_LOG ? openSync(process.env.BENCH_CP_LOG, 'w') : 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the control plane process exited (${child.exitCode})`);
    const up = await fetch(`${base}/healthz`).then((r) => r.ok).catch(() => false);
    if (up) return { url: base, child };
    if (i > 1200) throw new Error('the control plane process did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}
const INPUT = { text: 'How long do I have to return an item?' };

interface Sample { latencyMs: number; overheadMs?: number; controlPlaneMs?: number; charged?: number; tenant?: number }

interface Measured {
  kept: Sample[];
  all: Sample[];
  errors: number;
  errorKinds: Record<string, number>;
  elapsed: number;
  charged: number;
}

/** One measured stretch of closed-loop load (after its warm-up). */
async function measure(concurrency: number, once: (worker: number) => Promise<Sample>, o: { seconds?: number; warmup?: number; keep?: (s: Sample) => boolean } = {}): Promise<Measured> {
  let charged = 0;
  const errorKinds: Record<string, number> = {};
  const { samples, errors, elapsedSeconds } = await runLoad({
    concurrency,
    warmupSeconds: o.warmup ?? warmupSeconds,
    seconds: o.seconds ?? seconds,
    once,
    onResult: (s) => {
      charged += s.charged ?? 0;
    },
    onError: (err, measuring) => {
      if (!measuring) return;
      const k = (err as Error).message.slice(0, 80);
      errorKinds[k] = (errorKinds[k] ?? 0) + 1;
    },
  });
  return { kept: o.keep ? samples.filter(o.keep) : samples, all: samples, errors, errorKinds, elapsed: elapsedSeconds, charged };
}

/** The summary of one scenario over one or more measured stretches (their samples pooled). */
function summarize(name: string, concurrency: number, parts: Measured[]) {
  const kept = parts.flatMap((m) => m.kept);
  const all = parts.flatMap((m) => m.all);
  const elapsed = parts.reduce((n, m) => n + m.elapsed, 0);
  const errors = parts.reduce((n, m) => n + m.errors, 0);
  const errorKinds: Record<string, number> = {};
  for (const m of parts) for (const [k, v] of Object.entries(m.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + v;
  const over = all.filter((s) => s.overheadMs !== undefined).map((s) => s.overheadMs!);
  const own = all.filter((s) => s.overheadMs !== undefined && s.controlPlaneMs !== undefined).map((s) => s.overheadMs! - s.controlPlaneMs!);
  return {
    scenario: name,
    concurrency,
    seconds: Math.round(elapsed * 100) / 100,
    runs: kept.length,
    runsPerSecond: Math.round(kept.length / elapsed),
    errors,
    ...(errors ? { errorKinds } : {}),
    latencyMs: percentiles(kept.map((s) => s.latencyMs)),
    ...(over.length ? { overheadHeaderMs: percentiles(over) } : {}),
    /** Overhead minus the time spent waiting for the Control Plane (Server-Timing): the gateway's own work. */
    ...(own.length ? { gatewayOwnMs: percentiles(own) } : {}),
    /** Credits the answers reported charged, warm-up runs included (for the money check). */
    charged: parts.reduce((n, m) => n + m.charged, 0),
  };
}

async function load(name: string, concurrency: number, once: (worker: number) => Promise<Sample>, o: { seconds?: number; keep?: (s: Sample) => boolean } = {}) {
  return summarize(name, concurrency, [await measure(concurrency, once, o)]);
}

/**
 * Two scenarios side by side: BENCH_ROUNDS alternating stretches of each (the first with the
 * full warm-up, the others with a short one), so that both see the same machine — on a shared,
 * noisy machine a stretch measured a minute later can differ by a third. Answers both, pooled,
 * and the ratio b/a of each round: its median is the ratio the goals read.
 */
async function sideBySide(concurrency: number, a: (worker: number) => Promise<Sample>, b: (worker: number) => Promise<Sample>, names: [string, string]) {
  const as: Measured[] = [];
  const bs: Measured[] = [];
  const slice = seconds / rounds;
  for (let r = 0; r < rounds; r++) {
    const warmup = r === 0 ? warmupSeconds : Math.min(warmupSeconds, 0.5);
    as.push(await measure(concurrency, a, { seconds: slice, warmup }));
    bs.push(await measure(concurrency, b, { seconds: slice, warmup }));
  }
  const ratios = as.map((x, i) => Math.round((bs[i]!.kept.length / bs[i]!.elapsed / Math.max(1, x.kept.length / x.elapsed)) * 1000) / 1000);
  const sorted = [...ratios].sort((x, y) => x - y);
  return { a: summarize(names[0], concurrency, as), b: summarize(names[1], concurrency, bs), ratios, ratio: sorted[Math.floor(sorted.length / 2)]! };
}

async function main() {
  const schema = `bench_gw_${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
  const env: Record<string, string | undefined> = {
    ...process.env,
    APP_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    CP_PORT: '0',
    GATEWAY_PORT: '0',
    RUNNER_PORT: '0',
    CONNECTOR_GATEWAY_PORT: '0',
    PROVISIONER_PORT: '0',
    SEED_DEMO: '1',
    VALIDATE_RESPONSES: '0',
  };
  // Quota runs' charges go to the usage journal in the bench's schema (GATEWAY_USAGE_JOURNAL=false: over HTTP).
  const journalUrl = new URL(databaseUrl);
  journalUrl.searchParams.set('options', `-c search_path=${schema}`);
  env.GATEWAY_USAGE_JOURNAL_URL = journalUrl.toString();
  const config = loadConfig(env);
  const log = createLogger({ level: config.logLevel });
  const db = await createDb({ url: databaseUrl, searchPath: schema, poolMax, applicationName: schema });
  const client: HttpClient = createHttpClient();
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  let cpChild: ChildProcess | undefined;
  try {
    await db.raw(`create schema "${schema}"`);
    await migrateLatest(db);
    let cp: string;
    if (cpProcess === 'child') {
      // The child makes the development issuer's key in DATA_DIR first; this process reads it.
      const started = await startControlPlaneProcess(env, schema);
      cpChild = started.child;
      cp = started.url;
      stack = await startStack(loadConfig({ ...env, CP_BASE: cp }), log, { services: ['runner', 'gateway'], validateResponses: false });
    } else {
      stack = await startStack(config, log, { services: ['control-plane', 'runner', 'gateway'], db, validateResponses: false });
      cp = stack.apps.find((a) => a.name === 'control-plane')!.url;
    }
    const url = (n: string) => stack!.apps.find((a) => a.name === n)!.url;
    const gw = url('gateway');
    const runner = url('runner');
    const issuer = stack.identity.devIssuer!;
    const mint = (o: Parameters<typeof issuer.mint>[0]) => issuer.mint({ ttlSeconds: 3600, ...o });
    const publisher = await mint({ kind: 'user', subject: 'user-publisher', email: 'publisher@example.com', roles: ['publisher-admin'], audience: config.oidc.audience, clientId: 'storefront' });
    const gatewayToken = await mint({ kind: 'service', subject: 'service-account-gateway', clientId: 'gateway', roles: ['svc:gateway'], audience: config.oidc.audience });
    const provisionerToken = await mint({ kind: 'service', subject: 'service-account-provisioner', clientId: 'provisioner', roles: ['svc:provisioner'], audience: config.oidc.audience });

    const call = async (method: string, u: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await client.json<any>(method, u, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body, timeoutMs: 30_000 });
      if (res.status >= 300) throw new Error(`${method} ${u} → ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };

    // The demo flow, published as a bench offering whose plan does not bind the rate limiter.
    const flow = JSON.parse(readFileSync(new URL('../demo/flows/support-assistant.json', import.meta.url), 'utf8'));
    const offering = await call('POST', `${cp}/offerings`, publisher, { slug: 'bench-assistant', name: 'Bench Assistant', category: 'assistants', summary: 'The Support Assistant demo flow on a benchmark plan.', valueStreams: ['customer_support'] });
    const version = await call('POST', `${cp}/offerings/${offering.id}/versions`, publisher, {
      version: '1.0.0',
      flow,
      capabilities: [
        { id: 'prompt_orchestrator', v: 1, defaults: { systemPrompt: 'You are a friendly, concise customer support agent for ACME.', model: 'builtin:deterministic', temperature: 0.2 } },
        { id: 'credits_wallet', v: 1, defaults: { estimatedBudgetPerRun: 10 } },
      ],
      plans: [{ id: 'enterprise', name: 'Bench', trial: true, includedCredits: 0, limits: { rateLimitPerMinute: 100_000, burst: 10_000, runTimeoutMs: 60_000 }, defaults: {} }],
    });
    await call('POST', `${cp}/offerings/${offering.id}/versions/${version.id}/certify`, publisher, {});
    await call('POST', `${cp}/offerings/${offering.id}/transitions`, publisher, { to: 'published', versionId: version.id });

    // Tenants: each a workspace with plenty of credits and an active instance of the bench offering.
    // Tenant 0 alone is the "one hot wallet" case; all of them spread the load over many wallets.
    interface Tenant { token: string; walletId: string; instanceId: string }
    const newTenant = async (i: number): Promise<Tenant> => {
      const token = await mint({ kind: 'user', subject: `user-bench-${i}`, email: `bench-${i}@example.com`, audience: config.oidc.audience, clientId: 'storefront' });
      const ws = await call('POST', `${cp}/orgs/auto`, token, {});
      await call('POST', `${cp}/wallets/${ws.wallet.id}/topups`, provisionerToken, { amount: 100_000_000, creditType: 'paid', source: 'admin', reference: `bench-${i}` }, { 'idempotency-key': `bench-topup-${i}` });
      const inst = await call('POST', `${cp}/instances`, token, { projectId: ws.project.id, offeringVersionId: version.id, planId: 'enterprise' }, { 'idempotency-key': `bench-instance-${i}` });
      for (let n = 0; ; n++) {
        if ((await call('GET', `${cp}/instances/${inst.id}`, token)).state === 'active') break;
        if (n > 800) throw new Error('a bench instance did not become active');
        await new Promise((r) => setTimeout(r, 25));
      }
      return { token, walletId: ws.wallet.id, instanceId: inst.id };
    };
    const tenants: Tenant[] = [];
    for (let i = 0; i < walletCount; i += 8) tenants.push(...(await Promise.all(Array.from({ length: Math.min(8, walletCount - i) }, (_, j) => newTenant(i + j)))));
    const hot = tenants[0]!;

    const ent = await call('GET', `${cp}/instances/${hot.instanceId}/entitlements`, hot.token);
    const link = await call('GET', `${cp}/offerings/${offering.id}/versions/${version.id}/artifact`, gatewayToken);
    // Exactly what the gateway sends the Runner for this instance (prompt_orchestrator config as tweaks).
    const tweaks: Record<string, Record<string, unknown>> = {};
    for (const n of flow.data.nodes) {
      if (n.data.type === 'LocalModel') tweaks[n.id] = { system_message: ent.config.prompt_orchestrator.systemPrompt, temperature: ent.config.prompt_orchestrator.temperature, max_tokens: ent.config.prompt_orchestrator.maxTokens, model_name: ent.config.prompt_orchestrator.model };
    }
    const runnerBody = () => ({
      runId: newId('run'), instanceId: hot.instanceId, orgId: ent.orgId, projectId: ent.projectId, versionId: ent.versionId,
      artifact: { uri: link.url, sha256: ent.artifact.sha256 }, flowId: ent.flowId, tweaks, bindings: [], input: INPUT, timeoutMs: 60_000,
    });
    const balances = async () => Promise.all(tenants.map(async (t) => (await call('GET', `${cp}/wallets/${t.walletId}`, t.token)) as { balance: number; reserved: number }));
    const walletsBefore = await balances();

    let charged = 0;
    const firstRun = await call('POST', `${gw}/v1/runs`, hot.token, { instanceId: hot.instanceId, input: INPUT });
    charged += firstRun.billing.creditsCharged;
    const direct = await call('POST', `${runner}/v1/runs`, gatewayToken, runnerBody());
    if (direct.output.text !== firstRun.output.text) throw new Error('the direct and gateway runs answer differently: not the same work');

    const runnerOnce = async (): Promise<Sample> => {
      const t0 = performance.now();
      const res = await client.request('POST', `${runner}/v1/runs`, { headers: { authorization: `Bearer ${gatewayToken}` }, body: runnerBody(), timeoutMs: 60_000 });
      if (res.status !== 200) throw new Error(`runner ${res.status} ${res.bytes.toString().slice(0, 200)}`);
      return { latencyMs: performance.now() - t0 };
    };
    const bodies = tenants.map((t) => JSON.stringify({ instanceId: t.instanceId, input: INPUT }));
    const gatewayOnce = (spread: boolean) => async (worker: number): Promise<Sample> => {
      const i = spread ? worker % tenants.length : 0;
      const t0 = performance.now();
      const res = await client.request('POST', `${gw}/v1/runs`, { headers: { authorization: `Bearer ${tenants[i]!.token}`, 'content-type': 'application/json' }, body: bodies[i], timeoutMs: 60_000 });
      const latencyMs = performance.now() - t0;
      if (res.status !== 200) throw new Error(`gateway ${res.status} ${res.bytes.toString().slice(0, 200)}`);
      const parsed = JSON.parse(res.bytes.toString()) as { billing: { creditsCharged: number } };
      const cpMs = /controlplane;dur=([\d.]+)/.exec(String(res.headers['server-timing'] ?? ''))?.[1];
      return { latencyMs, overheadMs: Number(res.headers['x-gateway-overhead-ms']), controlPlaneMs: cpMs === undefined ? undefined : Number(cpMs), charged: parsed.billing.creditsCharged, tenant: i };
    };

    // (c) For attribution: the two Control Plane round trips every run makes, called directly.
    const usage = { tokens_in: 84, tokens_out: 57, tool_calls: 0, retrievals: 0, chat_runs: 1 };
    const cpPairOnce = (spread: boolean) => async (worker: number): Promise<Sample> => {
      const t = tenants[spread ? worker % tenants.length : 0]!;
      const runId = newId('run');
      const t0 = performance.now();
      const a = await client.json<any>('POST', `${cp}/billing/authorize`, { headers: { authorization: `Bearer ${gatewayToken}`, 'idempotency-key': `authz:${runId}` }, body: { instanceId: t.instanceId, estimatedBudget: 10, runId, ttlSeconds: 120 }, timeoutMs: 30_000 });
      if (a.status !== 201) throw new Error(`authorize ${a.status}`);
      const st = await client.json<any>('POST', `${cp}/billing/settle`, { headers: { authorization: `Bearer ${gatewayToken}` }, body: { reservationId: a.body.reservationId, runId, usage }, timeoutMs: 30_000 });
      if (st.status !== 200) throw new Error(`settle ${st.status}`);
      return { latencyMs: performance.now() - t0, charged: st.body.creditsCharged };
    };

    // Attribution: SQL statements per Control Plane call, and per gateway run (entitlements cached).
    let queries = 0;
    const countQuery = () => void queries++;
    db.on('query', countQuery);
    const sqlPerCall: Record<string, number> = {};
    const countFor = async (label: string, fn: () => Promise<unknown>, n = 20) => {
      queries = 0;
      for (let i = 0; i < n; i++) await fn();
      sqlPerCall[label] = Math.round((queries / n) * 10) / 10;
    };
    // The Control Plane's statements are counted on this process's pool: only when it runs here.
    if (cpProcess === 'same') {
      await countFor('authorize+settle pair', async () => { charged += (await cpPairOnce(false)(0)).charged ?? 0; });
      await countFor('gateway run (entitlements cached)', async () => { charged += (await gatewayOnce(false)(0)).charged ?? 0; });
      await countFor('getInstanceEntitlements', () => call('GET', `${cp}/instances/${hot.instanceId}/entitlements`, hot.token));
    }
    db.off('query', countQuery);
    console.error('[bench] SQL statements per call', JSON.stringify(sqlPerCall));
    if (process.env.BENCH_TIMELINE && cpProcess === 'same') {
      for (let i = 0; i < 50; i++) await gatewayOnce(false)(0);
      const marks: string[] = [];
      let t0 = 0;
      const st = new Map<string, number>();
      const onQ = (q: { __knexQueryUid: string; sql: string }) => { st.set(q.__knexQueryUid, performance.now()); marks.push(`${(performance.now() - t0).toFixed(2)} start ${q.sql.slice(0, 70)}`); };
      const onR = (_r: unknown, q: { __knexQueryUid: string }) => { marks.push(`${(performance.now() - t0).toFixed(2)}   done ${(performance.now() - st.get(q.__knexQueryUid)!).toFixed(2)}`); };
      db.on('query', onQ).on('query-response', onR);
      t0 = performance.now();
      const s = await gatewayOnce(false)(0);
      db.off('query', onQ).off('query-response', onR);
      console.error(`[bench] timeline of one run (${s.latencyMs.toFixed(2)} ms, overhead ${s.overheadMs}, cp ${s.controlPlaneMs})\n${marks.join('\n')}`);
    }
    // Where an authorize+settle pair spends its time in PostgreSQL, statement by statement (sequential).
    const sqlTime = new Map<string, { n: number; ms: number }>();
    const started = new Map<string, number>();
    const onQuery = (q: { __knexQueryUid: string }) => void started.set(q.__knexQueryUid, performance.now());
    const onResponse = (_r: unknown, q: { __knexQueryUid: string; sql: string }) => {
      const t0 = started.get(q.__knexQueryUid);
      if (t0 === undefined) return;
      started.delete(q.__knexQueryUid);
      const key = q.sql.replace(/\s+/g, ' ').slice(0, 110);
      const e = sqlTime.get(key) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t0;
      sqlTime.set(key, e);
    };
    db.on('query', onQuery).on('query-response', onResponse);
    const pairs = 50;
    const tPairs = performance.now();
    for (let i = 0; i < pairs; i++) charged += (await cpPairOnce(false)(0)).charged ?? 0;
    const pairMs = (performance.now() - tPairs) / pairs;
    db.off('query', onQuery).off('query-response', onResponse);
    const sqlProfile = {
      pairMs: Math.round(pairMs * 1000) / 1000,
      sqlMsPerPair: Math.round(([...sqlTime.values()].reduce((n, e) => n + e.ms, 0) / pairs) * 1000) / 1000,
      statements: [...sqlTime.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12).map(([sql, e]) => ({ sql, perPair: Math.round((e.n / pairs) * 10) / 10, msPerPair: Math.round((e.ms / pairs) * 1000) / 1000 })),
    };
    console.error('[bench] authorize+settle SQL profile', JSON.stringify(sqlProfile, null, 1));

    // The floor every durable run pays: one bare PostgreSQL commit (an autocommitted one-row insert,
    // so a WAL flush), measured on this machine in this run.
    await db.raw('create table bench_commit (id bigserial primary key, at timestamptz not null default now())');
    const commitMs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await db.raw('insert into bench_commit default values');
      commitMs.push(performance.now() - t0);
    }
    const commit = percentiles(commitMs);
    console.error(`[bench] bare PostgreSQL commit p50 ${commit.p50} ms p99 ${commit.p99} ms`);

    const diff = (b: Percentiles, a: Percentiles) => ({ p50: Math.round((b.p50 - a.p50) * 1000) / 1000, p99: Math.round((b.p99 - a.p99) * 1000) / 1000 });
    const scenarios = [];
    for (const c of concurrencies) {
      for (const spread of c > 1 && tenants.length > 1 ? [false, true] : [false]) {
        const wallets = spread ? Math.min(c, tenants.length) : 1;
        const { a, b, ratios, ratio } = await sideBySide(c, runnerOnce, gatewayOnce(spread), ['runner-direct', 'gateway']);
        const p = await load('cp-authorize+settle', c, cpPairOnce(spread));
        charged += b.charged + p.charged;
        const d = diff(b.latencyMs, a.latencyMs);
        scenarios.push({ concurrency: c, wallets, runnerDirect: a, gateway: b, ratio, ratioPerRound: ratios, overheadAsDifferenceMs: d, controlPlanePairDirect: p });
        console.error(
          `[bench] c=${c} wallets=${wallets}: runner ${a.runsPerSecond}/s p50 ${a.latencyMs.p50} p99 ${a.latencyMs.p99} | gateway ${b.runsPerSecond}/s p50 ${b.latencyMs.p50} p99 ${b.latencyMs.p99} | ratio per round ${ratios.join(' ')}` +
            ` | overhead header p50 ${b.overheadHeaderMs?.p50} p99 ${b.overheadHeaderMs?.p99} (of which gateway-own p50 ${b.gatewayOwnMs?.p50} p99 ${b.gatewayOwnMs?.p99}) | difference p50 ${d.p50} p99 ${d.p99}` +
            ` | CP authorize+settle ${p.runsPerSecond}/s p50 ${p.latencyMs.p50} p99 ${p.latencyMs.p99}`,
        );
      }
    }
    // Stall isolation: one wallet's row locked (as by a stuck transaction) while the other wallets
    // run; their p99 against the same load with nothing locked. Worker 0 keeps calling the locked
    // wallet (its callers are answered WALLET_BUSY or wait); workers 1.. use wallets 1...
    let stall: Record<string, unknown> | undefined;
    if (tenants.length > 1) {
      const c = Math.min(32, tenants.length);
      const others = (s: Sample) => s.tenant !== 0;
      const baseline = await load('gateway-baseline', c, gatewayOnce(true), { keep: others });
      charged += baseline.charged;
      const stallSeconds = Number(process.env.BENCH_STALL_SECONDS ?? 30);
      const locker = await db.transaction();
      let stalled;
      try {
        await locker.raw('select id from wallets where id = ? for update', [tenants[0]!.walletId]);
        stalled = await load('gateway-one-wallet-locked', c, gatewayOnce(true), { keep: others, seconds: Math.max(1, stallSeconds - warmupSeconds) });
      } finally {
        await locker.rollback().catch(() => {});
      }
      charged += stalled.charged;
      stall = { concurrency: c, lockedSeconds: stallSeconds, baseline, stalled, p99Ratio: Math.round((stalled.latencyMs.p99 / Math.max(0.001, baseline.latencyMs.p99)) * 100) / 100 };
      console.error(`[bench] stall: others p99 ${stalled.latencyMs.p99} ms with one wallet locked vs ${baseline.latencyMs.p99} ms baseline (${stalled.runsPerSecond}/s vs ${baseline.runsPerSecond}/s)`);
    }

    // Streaming: time to first byte and to first delta, through the gateway vs the runner direct.
    const firstBytes = async (url: string, token: string, body: unknown) => {
      const t0 = performance.now();
      const res = await client.stream('POST', url, { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' }, body, timeoutMs: 60_000 });
      let ttfb: number | undefined;
      let firstDelta: number | undefined;
      let text = '';
      for await (const chunk of res.body) {
        const t = performance.now() - t0;
        ttfb ??= t;
        text += chunk.toString();
        if (firstDelta === undefined && text.includes('event: delta')) firstDelta = t;
      }
      const total = performance.now() - t0;
      if (res.status !== 200) throw new Error(`stream ${url} → ${res.status}`);
      const charged = /"creditsCharged":(\d+)/.exec(text.slice(text.lastIndexOf('event: done')))?.[1];
      return { ttfb: ttfb ?? total, firstDelta: firstDelta ?? total, total, streamed: String(res.headers['content-type'] ?? '').startsWith('text/event-stream'), charged: charged ? Number(charged) : 0 };
    };
    const streamRuns = Math.max(20, Math.round(seconds * 20));
    const streaming: Record<string, unknown> = { runs: streamRuns };
    for (const [name, once] of [
      ['runner-direct', () => firstBytes(`${runner}/v1/runs`, gatewayToken, runnerBody())],
      ['gateway', () => firstBytes(`${gw}/v1/runs`, hot.token, { instanceId: hot.instanceId, input: INPUT })],
    ] as const) {
      const ttfb: number[] = [];
      const delta: number[] = [];
      const total: number[] = [];
      let streamed = false;
      for (let i = 0; i < streamRuns; i++) {
        const r = await once();
        ttfb.push(r.ttfb);
        delta.push(r.firstDelta);
        total.push(r.total);
        streamed = r.streamed;
        charged += r.charged;
      }
      streaming[name] = { streamed, ttfbMs: percentiles(ttfb), firstDeltaMs: percentiles(delta), totalMs: percentiles(total) };
    }
    const sd = streaming['runner-direct'] as { firstDeltaMs: Percentiles; ttfbMs: Percentiles };
    const sg = streaming.gateway as { firstDeltaMs: Percentiles; ttfbMs: Percentiles };
    streaming.firstDeltaRatioP50 = Math.round((sg.firstDeltaMs.p50 / Math.max(0.001, sd.firstDeltaMs.p50)) * 100) / 100;
    console.error(`[bench] streaming c=1: first delta p50 gateway ${sg.firstDeltaMs.p50} ms vs runner direct ${sd.firstDeltaMs.p50} ms; first byte gateway ${sg.ttfbMs.p50} vs ${sd.ttfbMs.p50} ms`);

    // Money check: every credit the answers report as charged left a wallet, and nothing is held
    // once the gateway has given its quotas back.
    await new Promise((r) => setTimeout(r, 200));
    await stack.drain();
    const walletsAfter = await balances();
    const balanceDrop = walletsBefore.reduce((n, w, i) => n + w.balance - walletsAfter[i]!.balance, 0);
    const reservedAfter = walletsAfter.reduce((n, w) => n + w.reserved, 0);
    const moneyCheck = { chargedPerAnswers: charged, balanceDrop, reservedAfter, ok: balanceDrop === charged && reservedAfter === 0 };
    // How the gateway's runs were admitted: on its credit quotas (charged with the quota's id) or one by one.
    const quotaUse = (await db.raw(
      `select (select count(*) from reservations where kind = 'quota')::int as quotas,
              (select count(*) from audit_events where action = 'billing.settled' and data ->> 'quotaId' is not null)::int as "runsChargedOnQuotas",
              (select count(*) from audit_events where action = 'billing.settled' and data ->> 'quotaId' is null)::int as "settledWithoutQuota"`,
    )).rows[0];
    console.error('[bench] gateway credit quotas', JSON.stringify(quotaUse));
    if (!moneyCheck.ok) console.error('[bench] MONEY CHECK FAILED', moneyCheck);
    const metrics = await client.request('GET', `${gw}/metrics`, { timeoutMs: 5000 });
    const cacheLines = metrics.bytes.toString().split('\n').filter((l) => l.startsWith('gateway_entitlements_cache_total') || l.startsWith('gateway_rate_limited_total'));

    // The goal lines, as ratios to what this run measured itself.
    const c1 = scenarios.find((x) => x.concurrency === 1);
    const hotC = scenarios.filter((x) => x.concurrency > 1 && x.wallets === 1).at(-1);
    const spreadC = scenarios.filter((x) => x.concurrency > 1 && x.wallets > 1).at(-1);
    const goal = (name: string, value: number | undefined, limit: number, op: '<=' | '>=') => ({
      goal: name, value, limit: Math.round(limit * 1000) / 1000, pass: value !== undefined && (op === '<=' ? value <= limit : value >= limit),
    });
    const ratio = (x?: { ratio: number }) => x?.ratio;
    const goals = [
      goal('c=1 overhead p50 ≤ 1 ms + bare commit p50', c1?.gateway.overheadHeaderMs?.p50, 1 + commit.p50, '<='),
      goal('c=1 overhead p99 ≤ 10 ms', c1?.gateway.overheadHeaderMs?.p99, 10, '<='),
      goal(`c=${spreadC?.concurrency} gateway/runner across ${spreadC?.wallets} wallets ≥ 0.5`, ratio(spreadC), 0.5, '>='),
      goal(`c=${hotC?.concurrency} gateway/runner on one hot wallet ≥ 0.4`, ratio(hotC), 0.4, '>='),
      goal('stall: other wallets p99 ≤ 2× baseline', stall?.p99Ratio as number | undefined, 2, '<='),
      { goal: 'money exact (charged = balance drop, 0 reserved)', value: moneyCheck.balanceDrop, limit: moneyCheck.chargedPerAnswers, pass: moneyCheck.ok },
    ];
    const table = scenarios.map((x) => ({
      concurrency: x.concurrency, wallets: x.wallets, runnerDirectPerSecond: x.runnerDirect.runsPerSecond, gatewayPerSecond: x.gateway.runsPerSecond,
      ratio: ratio(x), overheadP50Ms: x.gateway.overheadHeaderMs?.p50, overheadP99Ms: x.gateway.overheadHeaderMs?.p99, commitP50Ms: commit.p50,
    }));
    console.error('[bench] runner direct | gateway | ratio | overhead p50 / p99 | commit p50');
    for (const t of table) console.error(`[bench] c=${t.concurrency} wallets=${t.wallets}: ${t.runnerDirectPerSecond}/s | ${t.gatewayPerSecond}/s | ${t.ratio} | ${t.overheadP50Ms} / ${t.overheadP99Ms} ms | ${t.commitP50Ms} ms`);
    if (cpProcess === 'same') {
      console.error(`[bench] control plane: ${walletBatcher.stats.jobs} run authorizes/settles/voids in ${walletBatcher.stats.batches} transactions (largest ${walletBatcher.stats.largestBatch})`);
      console.error(`[bench] quota charges: ${quotaCharges.stats.charges} in ${quotaCharges.stats.transactions} combined transactions (largest ${quotaCharges.stats.largest}, ${quotaCharges.stats.fallbacks} made alone)`);
    }
    for (const g of goals) console.error(`[bench] ${g.pass ? 'PASS' : 'FAIL'} ${g.goal}: ${g.value} (limit ${g.limit})`);

    const report = {
      benchmark: 'gateway',
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version },
      setup: {
        database: 'PostgreSQL (throwaway schema)',
        process: cpProcess === 'child'
          ? 'control plane in its own Node process; runner, gateway and the load generator share another'
          : 'control plane, runner, gateway and the load generator share one Node process',
        creditQuotaRuns: config.gateway.quotaRuns,
        rateLimiter: config.redisUrl ? 'redis' : 'in-process',
        responseValidation: false,
        logLevel: config.logLevel,
        secondsPerScenario: seconds,
        walletsInSpreadScenarios: walletCount,
        warmupSeconds,
        dbPool: poolMax,
        input: INPUT,
      },
      goals,
      table,
      bareCommitMs: commit,
      /** The Control Plane's run use cases (authorize/settle/void) and the transactions they shared. */
      walletBatches: cpProcess === 'same' ? walletBatcher.stats : 'in the control plane process',
      quotaCharges: cpProcess === 'same' ? quotaCharges.stats : 'in the control plane process',
      scenarios,
      stall,
      streaming,
      sqlStatementsPerCall: sqlPerCall,
      authorizeSettleSqlProfile: sqlProfile,
      moneyCheck,
      creditQuotas: quotaUse,
      gatewayCounters: cacheLines,
    };
    const json = JSON.stringify(report, null, 2);
    console.log(json);
    mkdirSync(new URL('../bench-results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('../bench-results/gateway.json', import.meta.url), json + '\n');
    if (!moneyCheck.ok) process.exitCode = 1;
  } finally {
    client.close();
    await stack?.close();
    if (cpChild && cpChild.exitCode === null) {
      const exited = new Promise((r) => cpChild!.once('exit', r));
      cpChild.kill('SIGTERM');
      await exited;
    }
    await db.raw(`drop schema if exists "${schema}" cascade`).catch(() => {});
    await db.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error('bench failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
