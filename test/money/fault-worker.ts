/**
 * A stand-in Control Plane process for the fault suite (src/money/wallet-batches-survive-faults.test.ts):
 * runs authorize → settle pairs for the given run ids through a WalletBatcher, as the Control
 * Plane's run use cases do, printing `settled <runId>` after each committed settle. The suite
 * SIGKILLs it mid-load.
 *
 * Environment: DATABASE_URL, SCHEMA, WALLETS (comma list), RUNS (how many per wallet), CONCURRENCY.
 */
import { createDb } from '../../src/db/create-db';
import { authorize, settle } from '../../src/money/billing';
import { WalletBatcher } from '../../src/money/wallet-batch';

const wallets = process.env.WALLETS!.split(',');
const runs = Number(process.env.RUNS ?? 200);
const concurrency = Number(process.env.CONCURRENCY ?? 32);
const db = await createDb({ url: process.env.DATABASE_URL!, searchPath: process.env.SCHEMA!, poolMax: 20, applicationName: process.env.SCHEMA! });
const batcher = new WalletBatcher();
const work: { walletId: string; runId: string; credits: number }[] = [];
for (let i = 0; i < runs; i++) for (const [w, walletId] of wallets.entries()) work.push({ walletId, runId: `run_kill_${w}_${i}`, credits: 1 + (i % 7) });
let next = 0;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < work.length) {
    const job = work[next++]!;
    const a = await batcher.run(db, job.walletId, {}, (trx) => authorize(trx, { walletId: job.walletId, amount: 10, runId: job.runId }));
    await batcher.run(db, job.walletId, {}, (trx) => settle(trx, { reservationId: a.reservation.id, credits: job.credits }));
    process.stdout.write(`settled ${job.runId}\n`);
  }
}));
await db.destroy();
