/**
 * Purchase benchmark: order paid → instance active (target: ≤ 2 s locally).
 *
 *   npm run bench:purchase                      # PGlite in a temporary folder (what `npm start` runs)
 *   DATABASE_URL=postgres://… npm run bench:purchase   # PostgreSQL, in a throwaway schema (dropped after)
 *   BENCH_ORDERS=50 npm run bench:purchase
 *
 * Starts the Control Plane and the Provisioner in this process (demo catalog seeded, built-in
 * GitOps reconciler) and a fake Saleor (own RS256 key and JWKS, src/provisioner/saleor-dev.ts).
 * Then sends BENCH_ORDERS signed ORDER_FULLY_PAID webhooks one after the other — each a new buyer
 * known only by email buying the `support-assistant` starter plan by SKU, so every order runs the
 * whole path: signature check → SKU → catalog → order-paid (buyer workspace + instance, one
 * transaction) → GitOps commit → reconciler → `active`. One warm-up order (JWKS fetch, catalog
 * lookup, first commit) is reported apart as `coldMs`.
 *
 * Measured per order, from just before the webhook is sent:
 * - `orderPaidToActiveMs`: until the instance is seen `active` (the database is polled every 5 ms);
 * - `webhookMs`: until the Provisioner answered Saleor (the order held in its inbox; the Control
 *   Plane call runs after the answer, from the inbox).
 * Writes the JSON report to stdout and to bench-results/purchase.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { createDb } from '../src/db/create-db';
import { migrateLatest } from '../src/db/migrate';
import { loadConfig } from '../src/platform/config';
import { createLogger } from '../src/platform/logger';
import { orderLineSourceRef } from '../src/commerce/saleor-keys';
import { completeOrder, generateSaleorKey, saleorHeaders, saleorJwks, subscriptionPayload } from '../src/provisioner/saleor-dev';
import { startFakeSaleor } from '../src/provisioner/testing';
import { startStack } from '../src/stack';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 30);
const TARGET_MS = 2000;
const POLL_MS = 5;
const TIMEOUT_MS = 30_000;

interface Stats {
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50: r(at(0.5)), p95: r(at(0.95)), max: r(s[s.length - 1] ?? 0), mean: r(s.reduce((a, b) => a + b, 0) / (s.length || 1)) };
}

async function main(): Promise<void> {
  if (!Number.isInteger(ORDERS) || ORDERS < 1) throw new Error('BENCH_ORDERS must be a positive integer');
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-purchase-'));
  const key = await generateSaleorKey();
  const saleor = await startFakeSaleor(saleorJwks(key));

  let db: Knex | undefined;
  const schema = `bench_purchase_${randomBytes(4).toString('hex')}`;
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
    PROVISIONER_PORT: '0',
    SEED_DEMO: '1',
    SALEOR_API_URLS: saleor.apiUrl,
  };
  const config = loadConfig(env);
  const stack = await startStack(config, createLogger({ level: config.logLevel }), { services: ['control-plane', 'provisioner'], db });
  const sql = stack.db!;
  const webhookUrl = `${stack.apps.find((a) => a.name === 'provisioner')!.url}/webhooks/saleor/order-fully-paid`;

  async function purchase(i: number): Promise<{ activeMs: number; webhookMs: number }> {
    const order = completeOrder({ email: `bench-${i}-${randomBytes(3).toString('hex')}@example.com`, lines: [{ sku: 'support-assistant:starter', metadata: { planId: 'starter' } }] });
    const raw = JSON.stringify(subscriptionPayload(order));
    const headers = saleorHeaders({ apiUrl: saleor.apiUrl, signature: await key.sign(raw) });
    const sourceRef = orderLineSourceRef(saleor.apiUrl, order.id, order.lines[0]!.id);
    const t0 = performance.now();
    const res = await fetch(webhookUrl, { method: 'POST', headers, body: raw });
    const webhookMs = performance.now() - t0;
    const body = (await res.json()) as { status?: string };
    if (res.status !== 200 || !body.status) throw new Error(`order ${i}: provisioner answered ${res.status} ${JSON.stringify(body)}`);
    for (;;) {
      const row = await sql('instances').where({ source: 'saleor', source_ref: sourceRef }).first('state');
      if (row?.state === 'active') return { activeMs: performance.now() - t0, webhookMs };
      if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`order ${i}: not active after ${TIMEOUT_MS} ms (state ${row?.state ?? 'none'})`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  try {
    const cold = await purchase(0);
    const active: number[] = [];
    const webhook: number[] = [];
    for (let i = 1; i <= ORDERS; i++) {
      const r = await purchase(i);
      active.push(r.activeMs);
      webhook.push(r.webhookMs);
    }
    const activeStats = stats(active);
    const report = {
      benchmark: 'purchase: order paid → instance active',
      at: new Date().toISOString(),
      database: databaseUrl ? 'postgresql' : 'pglite',
      services: ['control-plane', 'provisioner'],
      orders: ORDERS,
      path: 'signed ORDER_FULLY_PAID (subscription payload, JWS RS256) → provisioner → POST /integrations/saleor/order-paid (new buyer by email: pending user + workspace + instance) → GitOps commit → built-in reconciler → active',
      coldMs: Math.round(cold.activeMs * 10) / 10,
      orderPaidToActiveMs: activeStats,
      webhookMs: stats(webhook),
      targetMs: TARGET_MS,
      meetsTarget: activeStats.p95 <= TARGET_MS,
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
    };
    const json = JSON.stringify(report, null, 2);
    console.log(json);
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/purchase.json', json + '\n');
  } finally {
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
    console.error(`bench:purchase failed: ${err instanceof Error ? err.stack ?? err.message : err}`);
    process.exit(1);
  },
);
