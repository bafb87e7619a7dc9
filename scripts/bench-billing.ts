/**
 * Money-path benchmark (service level, no HTTP): authorize+settle pairs per second and pair
 * latency p50/p99, on ONE hot wallet and spread over MANY wallets, at a fixed concurrency,
 * side by side in one run on PostgreSQL — each through the single-operation functions
 * (`direct`: one transaction per call) and through `BillingEngine` (`engine`: concurrent calls
 * coalesced into shared transactions). Invariants are checked afterwards.
 *
 *   npx tsx scripts/bench-billing.ts
 *
 * Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test; a throwaway
 * schema is created and dropped), BENCH_CONCURRENCY (in-flight pairs; a comma list runs each,
 * default "32,64"), BENCH_SECONDS (6 per scenario),
 * BENCH_WALLETS (100), BENCH_POOL (20), BENCH_ENGINE_IN_FLIGHT (2).
 * Writes the JSON report to stdout and to bench-results/billing.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { createDb } from '../src/db/create-db';
import { migrateLatest } from '../src/db/migrate';
import { newId } from '../src/platform/ids';
import { authorize, settle, type AuthorizeInput, type SettleInput } from '../src/money/billing';
import { BillingEngine } from '../src/money/engine';
import { createWallet } from '../src/money/wallets';
import { checkInvariants } from '../test/money/simulation';
import { percentiles, runLoad, type Percentiles } from './bench/load';

const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '32,64').split(',').map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const walletCount = Number(process.env.BENCH_WALLETS ?? 100);
const poolMax = Number(process.env.BENCH_POOL ?? 20);
const warmupSeconds = 1.5;

interface Api {
  authorize(input: AuthorizeInput): Promise<{ reservation: { id: string } }>;
  settle(input: SettleInput): Promise<unknown>;
}

interface ScenarioResult {
  scenario: string;
  path: 'direct' | 'engine';
  wallets: number;
  concurrency: number;
  seconds: number;
  pairs: number;
  pairsPerSecond: number;
  errors: number;
  latencyMs: {
    pair: Percentiles;
    authorize: Percentiles;
    settle: Percentiles;
  };
}

async function scenario(
  name: string,
  path: 'direct' | 'engine',
  api: Api,
  wallets: string[],
  concurrency: number,
): Promise<ScenarioResult> {
  let next = 0;
  let failures = 0;
  const { samples, errors, elapsedSeconds: elapsed } = await runLoad({
    concurrency,
    warmupSeconds,
    seconds,
    once: async () => {
      const walletId = wallets[next++ % wallets.length];
      const t0 = performance.now();
      const a = await api.authorize({ walletId, runId: newId('run'), instanceId: 'inst_bench', amount: 10 });
      const t1 = performance.now();
      await api.settle({ reservationId: a.reservation.id, credits: 7, usage: { tokens: 700 } });
      const t2 = performance.now();
      return { authorize: t1 - t0, settle: t2 - t1, pair: t2 - t0 };
    },
    onError: (err) => {
      if (failures++ < 5) console.error(`[bench] ${name}:`, (err as Error).message);
    },
  });
  return {
    scenario: name,
    path,
    wallets: wallets.length,
    concurrency,
    seconds: Math.round(elapsed * 100) / 100,
    pairs: samples.length,
    pairsPerSecond: Math.round(samples.length / elapsed),
    errors,
    latencyMs: {
      pair: percentiles(samples.map((x) => x.pair)),
      authorize: percentiles(samples.map((x) => x.authorize)),
      settle: percentiles(samples.map((x) => x.settle)),
    },
  };
}

async function main() {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const db = await createDb({ url, searchPath: schema, poolMax, applicationName: schema });
  try {
    await db.raw(`create schema "${schema}"`);
    await migrateLatest(db);
    const orgId = newId('org');
    await db('orgs').insert({ id: orgId, name: 'bench' });
    const big = 1_000_000_000_000;
    const hot = (await createWallet(db, { orgId, starterCredits: big })).id;
    const many: string[] = [];
    for (let i = 0; i < walletCount; i++) many.push((await createWallet(db, { orgId, starterCredits: big })).id);

    const [{ server_version: version }] = (await db.raw('show server_version')).rows as { server_version: string }[];
    const direct: Api = { authorize: (i) => authorize(db, i), settle: (i) => settle(db, i) };
    const engineMaxInFlight = Number(process.env.BENCH_ENGINE_IN_FLIGHT ?? 2);
    const engine = new BillingEngine(db, {}, { maxInFlight: engineMaxInFlight });
    const batched: Api = { authorize: (i) => engine.authorize(i), settle: (i) => engine.settle(i) };
    const results: ScenarioResult[] = [];
    for (const concurrency of concurrencies) {
      for (const [name, ws] of [['hot wallet', [hot]], [`${walletCount} wallets`, many]] as const) {
        results.push(await scenario(name, 'direct', direct, [...ws], concurrency));
        results.push(await scenario(name, 'engine', batched, [...ws], concurrency));
      }
    }
    const violations = await checkInvariants(db);
    const report = {
      benchmark: 'billing authorize+settle (service level, no HTTP)',
      at: new Date().toISOString(),
      database: { engine: 'postgresql', serverVersion: version ?? null, poolMax },
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, loadAvg1m: Math.round(loadavg()[0] * 100) / 100, node: process.version },
      results,
      engine: { maxInFlight: engineMaxInFlight, ...engine.stats },
      invariantViolations: violations,
      targets: { manyWalletsPairsPerSecond: 2000, hotWalletPairsPerSecond: 500 },
    };
    const json = JSON.stringify(report, null, 2);
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/billing.json', json + '\n');
    process.stdout.write(json + '\n');
    if (violations.length) process.exitCode = 1;
  } finally {
    await db.raw(`drop schema if exists "${schema}" cascade`).catch(() => {});
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
