/**
 * Saleor webhook answer time, the Control Plane up and down, side by side in one run.
 *
 *   npm run bench:saleor-webhook
 *   BENCH_SECONDS=20 BENCH_CONCURRENCY=8 npm run bench:saleor-webhook
 *   DATABASE_URL=postgres://… npm run bench:saleor-webhook   # PostgreSQL, throwaway schema
 *
 * Saleor waits 2 s to connect and 18 s (10 s before 3.20) for the answer, and retries a timeout.
 * Starts the Control Plane (demo catalog) and a Provisioner whose Control Plane address can be
 * switched to a closed port, plus a fake Saleor (own key, JWKS; webhooks signed as its pyjwt
 * does). Then, for each phase, BENCH_CONCURRENCY closed-loop senders post new signed
 * ORDER_FULLY_PAID orders (a credit pack each, new buyer) for BENCH_SECONDS after a warm-up, and
 * the time until the Provisioner answered is recorded:
 * - `up`: the Control Plane reachable (the inbox delivers while the webhooks come in);
 * - `down`: every Control Plane call refused (connection refused) — the orders pile up in the inbox.
 * After `down` the Control Plane comes back and the run waits until every held order is
 * delivered (`drainMs`), then checks each order was applied exactly once (one top-up per line).
 * Writes the JSON report to stdout and to bench-results/saleor-webhook.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { orderLineKey } from '../src/commerce/saleor-keys';
import { createDb } from '../src/db/create-db';
import { migrateLatest } from '../src/db/migrate';
import { loadConfig } from '../src/platform/config';
import { createLogger } from '../src/platform/logger';
import { createProvisionerApp } from '../src/provisioner/app';
import { createProvisionerDeps } from '../src/provisioner/deps';
import { completeOrder, generateSaleorKey, saleorHeaders, saleorJwks, saleorPayloadBytes, subscriptionPayload } from '../src/provisioner/saleor-dev';
import { startFakeSaleor } from '../src/provisioner/testing';
import { startStack } from '../src/stack';
import { percentiles, runLoad } from './bench/load';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const DRAIN_TIMEOUT_MS = 300_000;

async function closedPortUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-saleor-webhook-'));
  const key = await generateSaleorKey();
  const saleor = await startFakeSaleor(saleorJwks(key));
  let db: Knex | undefined;
  const schema = `bench_webhook_${randomBytes(4).toString('hex')}`;
  if (databaseUrl) {
    db = await createDb({ url: databaseUrl, searchPath: schema, poolMax: 10 });
    await db.raw(`create schema "${schema}"`);
    await migrateLatest(db);
  }
  const env: Record<string, string | undefined> = {
    ...process.env,
    APP_ENV: 'development',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATA_DIR: dataDir,
    CP_PORT: '0',
    SEED_DEMO: '1',
    SALEOR_API_URLS: saleor.apiUrl,
  };
  const config = loadConfig(env);
  const log = createLogger({ level: config.logLevel });
  const stack = await startStack(config, log, { services: ['control-plane'], db });
  const sql = stack.db!;
  const cpUrl = stack.apps[0]!.url;
  const deadUrl = await closedPortUrl();
  let cpUp = true;
  const deps = createProvisionerDeps({ config, log, db: sql, identity: stack.identity }, { controlPlaneUrl: () => (cpUp ? cpUrl : deadUrl) });
  deps.inboxWorker.start();
  const app = await createProvisionerApp(deps);
  const webhookUrl = `${(await app.listen(0, '127.0.0.1')).url}/webhooks/saleor/order-fully-paid`;
  const sent: { orderId: string; lineId: string }[] = [];

  async function once(): Promise<number> {
    const order = completeOrder({ email: `bench-${randomBytes(5).toString('hex')}@example.com`, lines: [{ sku: 'credits:10' }] });
    const raw = saleorPayloadBytes(subscriptionPayload(order));
    const headers = saleorHeaders({ apiUrl: saleor.apiUrl, signature: await key.sign(raw) });
    const t0 = performance.now();
    const res = await fetch(webhookUrl, { method: 'POST', headers, body: raw });
    const ms = performance.now() - t0;
    const text = await res.text();
    if (res.status !== 200) throw new Error(`provisioner answered ${res.status} ${text}`);
    sent.push({ orderId: order.id, lineId: order.lines[0]!.id });
    return ms;
  }

  async function phase(name: 'up' | 'down') {
    cpUp = name === 'up';
    const r = await runLoad({ concurrency: CONCURRENCY, warmupSeconds: WARMUP, seconds: SECONDS, once, onError: (err, measuring) => measuring && console.error(`${name}: ${(err as Error).message}`) });
    const p = percentiles(r.samples);
    const sorted = [...r.samples].sort((a, b) => a - b);
    const p95 = Math.round((sorted[Math.min(sorted.length - 1, Math.floor(0.95 * sorted.length))] ?? 0) * 1000) / 1000;
    return { controlPlane: name, webhooks: r.samples.length, errors: r.errors, perSecond: Math.round((r.samples.length / r.elapsedSeconds) * 10) / 10, answerMs: { ...p, p95 }, within2s: r.samples.filter((s) => s < 2000).length };
  }

  try {
    const up = await phase('up');
    const down = await phase('down');
    const backAt = performance.now();
    cpUp = true;
    deps.inboxWorker.kick();
    for (;;) {
      const { n } = (await sql('provisioner_inbox').where({ status: 'queued' }).count('* as n').first()) as { n: number | string };
      if (Number(n) === 0) break;
      if (performance.now() - backAt > DRAIN_TIMEOUT_MS) throw new Error(`${n} orders still queued after ${DRAIN_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const drainMs = Math.round(performance.now() - backAt);
    const notDelivered = await sql('provisioner_inbox').whereNot({ status: 'delivered' }).count('* as n').first();
    const refs = sent.map((s) => orderLineKey(saleor.apiUrl, s.orderId, s.lineId));
    let applied = 0;
    for (let i = 0; i < refs.length; i += 500) {
      const { n } = (await sql('ledger_entries').whereIn('reference', refs.slice(i, i + 500)).count('* as n').first()) as { n: number | string };
      applied += Number(n);
    }
    const report = {
      benchmark: 'saleor webhook: answer time with the control plane up and down',
      at: new Date().toISOString(),
      database: databaseUrl ? 'postgresql' : 'pglite',
      concurrency: CONCURRENCY,
      secondsPerPhase: SECONDS,
      path: 'signed ORDER_FULLY_PAID (subscription payload, JWS RS256, pyjwt header) → provisioner: signature check → inbox insert → 200; the inbox worker delivers to POST /integrations/saleor/order-paid afterwards',
      phases: [up, down],
      p95DownOverUp: Math.round((down.answerMs.p95 / (up.answerMs.p95 || 1)) * 100) / 100,
      afterOutage: { heldOrders: down.webhooks, drainMs, notDelivered: Number((notDelivered as { n: number | string }).n), ordersSent: sent.length, topupsApplied: applied, appliedOnceEach: applied === sent.length },
      saleorTimeoutMs: { connect: 2000, answer: 18000, answerBefore320: 10000 },
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
    };
    const json = JSON.stringify(report, null, 2);
    console.log(json);
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/saleor-webhook.json', json + '\n');
  } finally {
    await app.close();
    await deps.inboxWorker.stop();
    await stack.close();
    await saleor.close();
    if (db) {
      await db.raw(`drop schema if exists "${schema}" cascade`).catch(() => {});
      await db.destroy();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
