/**
 * A stand-in gateway + Control Plane pair for the fault suite's quota case
 * (src/money/wallet-batches-survive-faults.test.ts): grants one credit quota per wallet (printing
 * `quota <walletId> <quotaId>`), then charges runs against it through a WalletBatcher, as
 * chargeQuotaRun does, printing `charged <runId>` after each committed charge. The suite SIGKILLs
 * it mid-load, with its quotas open.
 *
 * Environment: DATABASE_URL, SCHEMA, WALLETS (comma list), RUNS (per wallet), CONCURRENCY, QUOTA_TTL_SECONDS.
 */
import { createDb } from '../../src/db/create-db';
import { WalletBatcher } from '../../src/money/wallet-batch';
import { chargeRun, grantBlock } from './quota-ops';

const wallets = process.env.WALLETS!.split(',');
const runs = Number(process.env.RUNS ?? 200);
const concurrency = Number(process.env.CONCURRENCY ?? 32);
const db = await createDb({ url: process.env.DATABASE_URL!, searchPath: process.env.SCHEMA!, poolMax: 20, applicationName: process.env.SCHEMA! });
const batcher = new WalletBatcher();
const quotas = new Map<string, string>();
for (const walletId of wallets) {
  const quotaId = await grantBlock(db, batcher, walletId, 20_000, Number(process.env.QUOTA_TTL_SECONDS ?? 30));
  quotas.set(walletId, quotaId);
  process.stdout.write(`quota ${walletId} ${quotaId}\n`);
}
const work: { walletId: string; runId: string; credits: number }[] = [];
for (let i = 0; i < runs; i++) for (const [w, walletId] of wallets.entries()) work.push({ walletId, runId: `run_qkill_${w}_${i}`, credits: 1 + (i % 7) });
let next = 0;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < work.length) {
    const job = work[next++]!;
    // Retried like the gateway's charge (idempotent by run): a busy wallet is not a lost run.
    for (let attempt = 0; ; attempt++) {
      try {
        await chargeRun(db, batcher, job.walletId, quotas.get(job.walletId)!, job.runId, job.credits);
        break;
      } catch (err) {
        if (attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    process.stdout.write(`charged ${job.runId}\n`);
  }
}));
await db.destroy();
