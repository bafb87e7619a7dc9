/**
 * Fault reproductions for the batched money path (wallet-batch.ts), on PostgreSQL
 * (TEST_DATABASE_URL): every run is authorized with its runId and settled by its reservation,
 * and a caller that gets an error retries the same call — as the Gateway does — so:
 *   - connections killed under load (`pg_terminate_backend` every few ms),
 *   - the process killed under load (SIGKILL of a worker running the batches, then the callers'
 *     retries from a new process),
 *   - one wallet's row locked for 40 s (STALL_SECONDS) while its callers and other wallets' keep
 *     calling,
 * end with every run charged exactly once: one reservation per run, settled, one debit per
 * reservation, balance = starting credits − the sum of the charges, nothing held, and the
 * money invariants (test/money/simulation.ts checkInvariants) clean.
 *
 * In flight at a crash: what a killed process had not committed is rolled back by PostgreSQL
 * with its connection — at most one batch per wallet (≤ 64 calls) plus the calls queued behind
 * it, none of them charged; each is charged when its caller retries, exactly once.
 *
 * Credit quotas (src/money/quotas.ts) under the same faults: runs charged against a quota with
 * connections killed, and a process killed with its quotas open — every run charged exactly once
 * (its retries replay), each quota shrunk by exactly its charges, and a quota whose holder died
 * released at its expiry (the measured time from the kill to the credits being available again).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openTestDb, testDatabaseUrl, type TestDb } from '../../test/support/db';
import { walletWith } from '../../test/support/money';
import { checkInvariants } from '../../test/money/simulation';
import { chargeRun, grantBlock } from '../../test/money/quota-ops';
import { expireReservations } from './billing';
import { authorize, settle } from './billing';
import { WalletBatcher } from './wallet-batch';
import { getWallet } from './wallets';

const STALL_SECONDS = Number(process.env.STALL_SECONDS ?? 40);

/** Retries `fn` on any error, as a caller with an idempotent request does. */
async function retrying<T>(fn: () => Promise<T>, tries = 200): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
    }
  }
}

describe('batched money survives faults (PostgreSQL)', { skip: testDatabaseUrl() ? false : 'needs TEST_DATABASE_URL' }, () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  const pair = (batcher: WalletBatcher, walletId: string, runId: string, credits: number) => async () => {
    const a = await retrying(() => batcher.run(t.db, walletId, { deadline: Date.now() + 4000 }, (trx) => authorize(trx, { walletId, amount: 10, runId })));
    const s = await retrying(() => batcher.run(t.db, walletId, { deadline: Date.now() + 4000 }, (trx) => settle(trx, { reservationId: a.reservation.id, credits })));
    return s.charged;
  };

  /** One reservation per run, settled, with exactly one debit; the wallets' drop is the sum charged. */
  async function assertExactlyOnce(walletIds: string[], runIds: string[], start: number, charged: number) {
    const res = await t.db('reservations').whereIn('run_id', runIds).select('id', 'run_id', 'status');
    assert.equal(res.length, runIds.length, 'one reservation per run');
    assert.deepEqual([...new Set(res.map((r) => r.status))], ['settled']);
    const debits = await t.db('ledger_entries').whereIn('reservation_id', res.map((r) => r.id)).where({ kind: 'debit' }).select('reservation_id');
    assert.equal(new Set(debits.map((d) => d.reservation_id)).size, runIds.length, 'every run charged');
    assert.equal(debits.length, runIds.length, 'no run charged twice');
    let drop = 0;
    for (const id of walletIds) {
      const w = await getWallet(t.db, id);
      drop += start - w.balance;
      assert.equal(w.reserved, 0, 'nothing held');
    }
    assert.equal(drop, charged, 'the balance drop is the sum charged');
    assert.deepEqual(await checkInvariants(t.db), []);
  }

  it('pg_terminate_backend under load: 0 lost, 0 doubled', async (ctx) => {
    const batcher = new WalletBatcher();
    const wallets = await Promise.all(Array.from({ length: 4 }, () => walletWith(t.db, { starterCredits: 100_000 })));
    let killing = true;
    let killed = 0;
    const killer = (async () => {
      while (killing) {
        await new Promise((r) => setTimeout(r, 40));
        const r = await t.db.raw(`select count(pg_terminate_backend(pid)) as n from pg_stat_activity where application_name = ? and pid <> pg_backend_pid() and state <> 'idle'`, [t.schema!]).catch(() => ({ rows: [{ n: 0 }] }));
        killed += Number(r.rows[0].n);
      }
    })();
    const runIds: string[] = [];
    const jobs: (() => Promise<number>)[] = [];
    for (let i = 0; i < 100; i++) for (const [k, w] of wallets.entries()) {
      const runId = `run_term_${k}_${i}`;
      runIds.push(runId);
      jobs.push(pair(batcher, w.id, runId, 1 + (i % 5)));
    }
    let charged = 0;
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < jobs.length) {
        const c = await jobs[next++]!();
        charged += c;
      }
    }));
    killing = false;
    await killer;
    ctx.diagnostic(`${killed} backends terminated; ${batcher.stats.jobs} calls in ${batcher.stats.batches} transactions`);
    assert.ok(killed > 0, 'connections were killed while the load ran');
    await assertExactlyOnce(wallets.map((w) => w.id), runIds, 100_000, charged);
  });

  it('SIGKILL of the process running the batches: the callers\' retries charge each run exactly once', async (ctx) => {
    const wallets = await Promise.all(Array.from({ length: 4 }, () => walletWith(t.db, { starterCredits: 100_000 })));
    const runsPerWallet = 150;
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../test/money/fault-worker.ts', import.meta.url))], {
      env: { ...process.env, DATABASE_URL: testDatabaseUrl(), SCHEMA: t.schema, WALLETS: wallets.map((w) => w.id).join(','), RUNS: String(runsPerWallet), CONCURRENCY: '32' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let settledByChild = 0;
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (b: Buffer) => {
        settledByChild += (b.toString().match(/settled /g) ?? []).length;
        if (settledByChild >= 100) resolve();
      });
      void exited.then(() => resolve());
    });
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', 'the worker was killed mid-load');
    const open = await t.db('reservations').whereIn('wallet_id', wallets.map((w) => w.id)).where({ status: 'open' }).count<{ count: string }[]>('* as count');
    ctx.diagnostic(`killed after ${settledByChild} acknowledged settles; ${open[0]!.count} reservations open (authorized, not yet settled) at the kill`);

    // The callers retry every run (same runId, then same reservation) from a new process.
    const batcher = new WalletBatcher();
    const runIds: string[] = [];
    let charged = 0;
    const jobs: (() => Promise<number>)[] = [];
    for (let i = 0; i < runsPerWallet; i++) for (const [k, w] of wallets.entries()) {
      const runId = `run_kill_${k}_${i}`;
      runIds.push(runId);
      jobs.push(pair(batcher, w.id, runId, 1 + (i % 7)));
    }
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < jobs.length) {
        const c = await jobs[next++]!();
        charged += c;
      }
    }));
    await assertExactlyOnce(wallets.map((w) => w.id), runIds, 100_000, charged);
  });

  /** Every run has one settled reservation with one debit; each quota shrank by its runs' charges; the wallets dropped by the sum charged. */
  async function assertQuotaChargesExact(walletIds: string[], quotaIds: string[], runIds: string[], start: number, granted: number, charged: number) {
    const res = await t.db('reservations').whereIn('run_id', runIds).select('id', 'status', 'charged');
    assert.equal(res.length, runIds.length, 'one reservation per run');
    assert.deepEqual([...new Set(res.map((r) => r.status))], ['settled']);
    const debits = await t.db('ledger_entries').whereIn('reservation_id', res.map((r) => r.id)).where({ kind: 'debit' }).select('reservation_id');
    assert.equal(debits.length, runIds.length, 'every run charged once');
    const quotas = await t.db('reservations').whereIn('id', quotaIds).select('amount');
    const left = quotas.reduce((n, q) => n + Number(q.amount), 0);
    assert.equal(left, granted - charged, 'the quotas shrank by exactly the charges');
    let drop = 0;
    for (const id of walletIds) drop += start - (await getWallet(t.db, id)).balance;
    assert.equal(drop, charged, 'the balance drop is the sum charged');
    assert.deepEqual(await checkInvariants(t.db), []);
  }

  it('quota charges with pg_terminate_backend under load: 0 lost, 0 doubled', async (ctx) => {
    const batcher = new WalletBatcher();
    const wallets = await Promise.all(Array.from({ length: 4 }, () => walletWith(t.db, { starterCredits: 100_000 })));
    const quotaIds = await Promise.all(wallets.map((w) => grantBlock(t.db, batcher, w.id, 20_000, 600)));
    let killing = true;
    let killed = 0;
    const killer = (async () => {
      while (killing) {
        await new Promise((r) => setTimeout(r, 40));
        const r = await t.db.raw(`select count(pg_terminate_backend(pid)) as n from pg_stat_activity where application_name = ? and pid <> pg_backend_pid() and state <> 'idle'`, [t.schema!]).catch(() => ({ rows: [{ n: 0 }] }));
        killed += Number(r.rows[0].n);
      }
    })();
    const runIds: string[] = [];
    const jobs: (() => Promise<number>)[] = [];
    for (let i = 0; i < 100; i++) for (const [k, w] of wallets.entries()) {
      const runId = `run_qterm_${k}_${i}`;
      runIds.push(runId);
      jobs.push(async () => (await retrying(() => chargeRun(t.db, batcher, w.id, quotaIds[k]!, runId, 1 + (i % 5)))).charged);
    }
    let charged = 0;
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < jobs.length) {
        const c = await jobs[next++]!();
        charged += c;
      }
    }));
    killing = false;
    await killer;
    ctx.diagnostic(`${killed} backends terminated; ${batcher.stats.jobs} calls in ${batcher.stats.batches} transactions`);
    assert.ok(killed > 0, 'connections were killed while the load ran');
    await assertQuotaChargesExact(wallets.map((w) => w.id), quotaIds, runIds, 100_000, 4 * 20_000, charged);
  });

  it('SIGKILL of a process charging runs on open quotas: retries charge each run once, and the dead holder\'s quotas are released at their expiry', async (ctx) => {
    const wallets = await Promise.all(Array.from({ length: 4 }, () => walletWith(t.db, { starterCredits: 100_000 })));
    const runsPerWallet = 150;
    const ttlSeconds = 30;
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../test/money/quota-fault-worker.ts', import.meta.url))], {
      env: { ...process.env, DATABASE_URL: testDatabaseUrl(), SCHEMA: t.schema, WALLETS: wallets.map((w) => w.id).join(','), RUNS: String(runsPerWallet), CONCURRENCY: '32', QUOTA_TTL_SECONDS: String(ttlSeconds) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const quotaOf = new Map<string, string>();
    let chargedByChild = 0;
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    await new Promise<void>((resolve) => {
      let buf = '';
      child.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        for (const m of buf.matchAll(/quota (\S+) (\S+)\n/g)) quotaOf.set(m[1]!, m[2]!);
        chargedByChild = (buf.match(/charged /g) ?? []).length;
        if (chargedByChild >= 100) resolve();
      });
      void exited.then(() => resolve());
    });
    child.kill('SIGKILL');
    const killedAt = Date.now();
    assert.equal(await exited, 'SIGKILL', 'the worker was killed mid-load');
    assert.equal(quotaOf.size, wallets.length);
    const quotaIds = wallets.map((w) => quotaOf.get(w.id)!);
    ctx.diagnostic(`killed after ${chargedByChild} acknowledged charges, with ${quotaIds.length} quotas open`);

    // The callers retry every run's charge (same run, same reservation id) from a new process.
    const batcher = new WalletBatcher();
    const runIds: string[] = [];
    let charged = 0;
    const jobs: (() => Promise<number>)[] = [];
    for (let i = 0; i < runsPerWallet; i++) for (const [k, w] of wallets.entries()) {
      const runId = `run_qkill_${k}_${i}`;
      runIds.push(runId);
      jobs.push(async () => (await retrying(() => chargeRun(t.db, batcher, w.id, quotaIds[k]!, runId, 1 + (i % 7)))).charged);
    }
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < jobs.length) {
        const c = await jobs[next++]!();
        charged += c;
      }
    }));
    await assertQuotaChargesExact(wallets.map((w) => w.id), quotaIds, runIds, 100_000, 4 * 20_000, charged);

    // Nobody renews or releases the dead holder's quotas: they lapse at their expiry.
    const expiresAt = Math.max(...(await t.db('reservations').whereIn('id', quotaIds).select('expires_at')).map((r) => new Date(r.expires_at).getTime()));
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now() + 50)));
    await expireReservations(t.db);
    const releasedAfterMs = Date.now() - killedAt;
    for (const w of wallets) assert.equal((await getWallet(t.db, w.id)).reserved, 0, 'nothing held after the quotas expired');
    ctx.diagnostic(`the dead holder's quotas were released ${releasedAfterMs} ms after the kill (their hold: ${ttlSeconds} s)`);
    assert.ok(releasedAfterMs <= ttlSeconds * 1000 + 5_000, 'released within the hold\'s bound');
    assert.deepEqual(await checkInvariants(t.db), []);
  });

  it(`one wallet locked for ${STALL_SECONDS} s under load: its runs wait or are refused WALLET_BUSY and retried, other wallets run; 0 lost, 0 doubled`, async (ctx) => {
    const batcher = new WalletBatcher();
    const wallets = await Promise.all(Array.from({ length: 4 }, () => walletWith(t.db, { starterCredits: 100_000 })));
    const stuck = wallets[0]!;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const locker = t.db.transaction(async (trx) => {
      await trx.raw('select id from wallets where id = ? for update', [stuck.id]);
      await held;
    });
    await new Promise((r) => setTimeout(r, 50));
    const lockedUntil = Date.now() + STALL_SECONDS * 1000;
    const timer = setTimeout(release, STALL_SECONDS * 1000);
    const runIds: string[] = [];
    let charged = 0;
    let otherDone = 0;
    let otherDoneWhileLocked = 0;
    const runs = wallets.map((w, k) => Array.from({ length: 60 }, (_, i) => {
      const runId = `run_stall_${k}_${i}`;
      runIds.push(runId);
      return async () => {
        const c = await pair(batcher, w.id, runId, 1 + (i % 5))().catch(async () => pair(batcher, w.id, runId, 1 + (i % 5))());
        if (k !== 0) {
          otherDone++;
          if (Date.now() < lockedUntil) otherDoneWhileLocked++;
        }
        return c;
      };
    }));
    // Callers of the locked wallet keep retrying until it is released (their retry loop outlasts the stall).
    const stuckCallers = runs[0]!.map((job) => (async () => {
      for (;;) {
        try {
          return await job();
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })());
    const others = runs.slice(1).flat();
    let next = 0;
    const otherWorkers = Promise.all(Array.from({ length: 16 }, async () => {
      while (next < others.length) {
        const c = await others[next++]!();
        charged += c;
      }
    }));
    const stuckCharged = (await Promise.all(stuckCallers)).reduce((n, c) => n + c, 0);
    charged += stuckCharged;
    await otherWorkers;
    clearTimeout(timer);
    await locker;
    ctx.diagnostic(`other wallets: ${otherDoneWhileLocked} of ${otherDone} runs finished while the wallet was locked`);
    assert.equal(otherDoneWhileLocked, otherDone, 'other wallets were not held up by the locked one');
    await assertExactlyOnce(wallets.map((w) => w.id), runIds, 100_000, charged);
  });
});
