/**
 * The usage journal: quota runs' charges, recorded by the gateway and applied here.
 *
 * A gateway replica with a journal (src/gateway/usage-journal.ts) does not call the Control Plane
 * to charge a quota run. It writes the charge — the same QuotaRunCharge it would have sent to
 * POST /billing/quotas/{quotaId}/charges — as one row of `usage_journal` with one autocommitted
 * INSERT, and answers the run once that row is committed: a durable usage record, like a CDR in
 * online charging, with the same answer (creditsCharged = min(metered, hold): the hold was taken
 * from the quota, so the charge can always be made). This module turns rows into ledger debits:
 *
 * - `applyJournalRows`: in a transaction that holds the rows' wallets, each row is charged exactly
 *   as `chargeQuotaRun` charges (the engine's `quota_charge`, the run's record, its audit event,
 *   a low-balance notice), and marked applied in the same transaction. Idempotent by run, as the
 *   HTTP charge is: a row whose charge was already made (by HTTP, or by another folder) replays.
 * - The folder (`startUsageFolder`) applies pending rows in the background, many wallets per
 *   transaction; wallets another transaction holds are skipped (one stalled wallet never holds up
 *   the others) and tried again on the next pass.
 * - Anything that changes a quota applies its pending rows first, under the wallet's lock:
 *   a renewal or a release (quotas.ts), an expiry (journal-guards.ts: a quota with pending rows
 *   does not expire). A row's quota had to be open when it was written (the gateway's INSERT
 *   checks it, holding a KEY SHARE lock on the quota), and its charge is judged at that time
 *   (`at`), not when it is applied.
 * - Reads that show what a charge changes — a wallet, its ledger, a run, an instance's runs, an
 *   org's audit events — apply the pending rows they would show first (`catchUpJournal`).
 *
 * A run recorded uncharged (voidQuotaRun: the gateway's charge failed and it gave up) can never
 * be charged afterwards; its row, if an attempt did commit, is refused here (`outcome =
 * 'refused'`, logged as an error). The gateway answered such a run `charged: false` only after
 * its void went through, so a refused row is never a run answered as charged.
 */
import type { Knex } from 'knex';
import { recordAudits } from '../audit';
import type { QuotaRunCharge } from '../../generated/control-plane/types';
import { rows as selectRows, type Db } from '../db/tx';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import type { RunFinish } from '../runs/records';
import { executeBatch, type Outcome, type SettleResult } from './billing';
import { boundStatements, DEFAULT_BUDGET_MS, type MoneyBounds } from './bounds';
import { admissionOf, chargeRecord, prepareCharge, writeChargeRecords, type PreparedCharge } from './quotas';
import { nowOf, type MoneyDeps } from './types';
import { walletBatcher, type WalletBatcher } from './wallet-batch';
import { lockWallet, walletView } from './wallets';

/** A charge as the gateway writes it: the body of POST /billing/quotas/{quotaId}/charges. */
export type JournalCharge = QuotaRunCharge;

export interface JournalRow {
  run_id: string;
  reservation_id: string;
  quota_id: string;
  wallet_id: string;
  org_id: string;
  instance_id: string;
  requested: number;
  charged: number;
  charge: JournalCharge;
  created_at: Date;
}

const COLUMNS = 'run_id, reservation_id, quota_id, wallet_id, org_id, instance_id, requested, charged, charge, created_at';

export interface AppliedRows {
  /** Charged now, or found charged before (a replay). */
  charged: string[];
  /** Could not be charged (the run was recorded uncharged, its quota was not there): never will be. */
  refused: { runId: string; code: string }[];
  /** Their wallet was held by another transaction (`skipLocked`): still pending. */
  skipped: string[];
}

export interface ApplyOptions {
  money?: MoneyDeps;
  log?: Logger;
  /** Wallets another transaction holds are skipped (the folder); otherwise the caller holds them. */
  skipLocked?: boolean;
}

/** A definite answer that the charge cannot be made (a 4xx), as opposed to a failure to make it now. */
const refusal = (err: unknown): err is AppError => err instanceof AppError && err.status < 500;

/** The run's charge as `chargeQuotaRun` takes it. */
function chargeInput(row: JournalRow) {
  const c = row.charge;
  return {
    holder: c.holder, reservationId: c.reservationId, runId: c.runId, hold: c.hold, usage: c.usage,
    admission: admissionOf(c.admission, c.startedAt), run: c.run as RunFinish,
  };
}

/**
 * Charges the rows in `trx` and marks them applied (see the module comment). `db` is the
 * connection the quotas' facts are read on (outside the transaction, cached).
 */
export async function applyJournalRows(db: Knex, trx: Knex.Transaction, journal: JournalRow[], o: ApplyOptions = {}): Promise<AppliedRows> {
  const out: AppliedRows = { charged: [], refused: [], skipped: [] };
  if (journal.length === 0) return out;
  const now = nowOf(o.money);
  const prepared: { row: JournalRow; charge: PreparedCharge }[] = [];
  for (const row of journal) {
    try {
      const charge = await prepareCharge(db, row.quota_id, chargeInput(row), { money: o.money, actor: { type: 'service', id: 'gateway' } });
      if (charge.op.requested !== Number(row.requested)) {
        // The gateway metered with another registry (a rolling upgrade): the run's answer is what is charged.
        o.log?.warn({ runId: row.run_id, gateway: Number(row.requested), controlPlane: charge.op.requested }, 'usage journal: the run was metered differently here; its answer is charged');
        charge.op.requested = Number(row.requested);
      }
      charge.op.at = row.created_at;
      prepared.push({ row, charge });
    } catch (err) {
      // Only the Control Plane's own refusal (the quota is not this holder's, the usage cannot be
      // metered) refuses a row; anything else (a connection lost) leaves it for the next pass.
      if (!refusal(err)) throw err;
      out.refused.push({ runId: row.run_id, code: err.code });
    }
  }
  const outcomes = (await executeBatch(trx, prepared.map((p) => p.charge.op), { deps: o.money, eventsDb: db, now, skipLocked: o.skipLocked })) as Outcome<SettleResult>[];
  const records: ReturnType<typeof chargeRecord>[] = [];
  outcomes.forEach((r, i) => {
    const { row, charge } = prepared[i]!;
    if (r.ok) {
      if (!r.value.replayed) records.push(chargeRecord(charge, r.value, walletView(r.value.walletAfter!), now));
      out.charged.push(row.run_id);
    } else if (refusal(r.error)) out.refused.push({ runId: row.run_id, code: r.error.code });
    else out.skipped.push(row.run_id); // its wallet held elsewhere (WALLET_BUSY), or not decided: still pending
  });
  const written = await writeChargeRecords(trx, records);
  if (written.size !== records.length) throw new AppError('INTERNAL', 'A journaled run already had a record');
  await recordAudits(trx, records.map((r) => r.audit));
  const marks = [...out.charged.map((runId) => ({ runId, outcome: 'charged', code: null as string | null })), ...out.refused.map((r) => ({ runId: r.runId, outcome: 'refused', code: r.code }))];
  if (marks.length) {
    await trx.raw(
      `update usage_journal set applied_at = ?, outcome = x.outcome, error_code = nullif(x.code, '')
         from (select unnest(?::text[]) as run_id, unnest(?::text[]) as outcome, unnest(?::text[]) as code) x
        where usage_journal.run_id = x.run_id and usage_journal.applied_at is null`,
      [now, marks.map((m) => m.runId), marks.map((m) => m.outcome), marks.map((m) => m.code ?? '')] as unknown as readonly string[],
    );
  }
  for (const r of out.refused) o.log?.error({ runId: r.runId, code: r.code }, 'usage journal: a recorded charge could not be applied; the run stays uncharged');
  return out;
}

/** The pending rows of these wallets (or of one quota), locked; the caller holds the wallets. */
async function pendingLocked(trx: Knex.Transaction, where: { walletIds: string[] } | { quotaId: string }): Promise<JournalRow[]> {
  return 'quotaId' in where
    ? selectRows<JournalRow>(trx, `select ${COLUMNS} from usage_journal where quota_id = ? and applied_at is null order by created_at for update`, [where.quotaId])
    : selectRows<JournalRow>(trx, `select ${COLUMNS} from usage_journal where wallet_id = any(?) and applied_at is null order by created_at for update`, [where.walletIds]);
}

/** Applies a quota's pending rows before the quota changes (its wallet is locked by the caller). */
export async function applyQuotaJournal(db: Knex, trx: Knex.Transaction, quotaId: string, o: ApplyOptions = {}): Promise<AppliedRows> {
  return applyJournalRows(db, trx, await pendingLocked(trx, { quotaId }), o);
}

export type JournalScope = { walletId: string } | { runId: string } | { instanceId: string } | { orgId: string };

/**
 * Applies the pending rows a read would show (see the module comment): one indexed lookup when
 * there are none; otherwise each of their wallets in a job on its batcher (within `bounds`).
 */
export async function catchUpJournal(db: Knex, scope: JournalScope, deps: { money?: MoneyDeps; log?: Logger; bounds?: MoneyBounds; batcher?: WalletBatcher } = {}): Promise<void> {
  const [where, value] = 'walletId' in scope ? ['wallet_id = ?', scope.walletId]
    : 'runId' in scope ? ['run_id = ?', scope.runId]
    : 'instanceId' in scope ? ['wallet_id = (select wallet_id from instances where id = ?)', scope.instanceId]
    : ['wallet_id in (select id from wallets where org_id = ?)', scope.orgId];
  const wallets = await selectRows<{ wallet_id: string }>(db, `select distinct wallet_id from usage_journal where ${where} and applied_at is null`, [value]);
  for (const { wallet_id } of wallets) {
    await (deps.batcher ?? walletBatcher).run(db, wallet_id, deps.bounds ?? {}, async (trx) => {
      await lockWallet(trx, wallet_id);
      await applyJournalRows(db, trx, await pendingLocked(trx, { walletIds: [wallet_id] }), deps);
    });
  }
}

export interface UsageFolderOptions {
  money?: MoneyDeps;
  log?: Logger;
  /** The longest pause when nothing is pending (default 100 ms): it doubles from 1 ms while idle. */
  idleMs?: number;
  /** Wallets per transaction (default 64), rows per transaction (default 512). */
  wallets?: number;
  rows?: number;
}

export interface UsageFolderStats {
  transactions: number;
  charged: number;
  refused: number;
  largest: number;
}

export interface UsageFolder {
  readonly stats: UsageFolderStats;
  /** Applies what is pending now, then resolves (tests, and a stopping process). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One pass: locks up to `wallets` wallets with pending rows (SKIP LOCKED: a held wallet waits for
 * the next pass), then applies their oldest rows in the same transaction. Answers the rows done.
 */
async function foldOnce(db: Knex, o: UsageFolderOptions, stats: UsageFolderStats): Promise<number> {
  return db.transaction(async (trx) => {
    const deadline = Date.now() + DEFAULT_BUDGET_MS;
    await boundStatements(trx, deadline, deadline);
    const journal = await selectRows<JournalRow>(
      trx,
      `with w as (
         select id from wallets where id in (select distinct wallet_id from usage_journal where applied_at is null limit ?)
          order by id for update skip locked)
       select ${COLUMNS} from usage_journal where wallet_id in (select id from w) and applied_at is null
        order by created_at limit ? for update`,
      [o.wallets ?? 64, o.rows ?? 512],
    );
    if (journal.length === 0) return 0;
    const r = await applyJournalRows(db, trx, journal, o);
    stats.transactions++;
    stats.charged += r.charged.length;
    stats.refused += r.refused.length;
    if (journal.length > stats.largest) stats.largest = journal.length;
    return r.charged.length + r.refused.length;
  });
}

/** The Control Plane's background folder of the usage journal (one per process; several processes share the work). */
export function startUsageFolder(db: Knex, o: UsageFolderOptions = {}): UsageFolder {
  const stats: UsageFolderStats = { transactions: 0, charged: 0, refused: 0, largest: 0 };
  const idleMs = o.idleMs ?? 100;
  let idle = 1;
  let stopped = false;
  let wake: (() => void) | undefined;
  const pause = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(() => { wake = undefined; resolve(); }, ms);
    wake = () => { clearTimeout(t); wake = undefined; resolve(); };
  });
  const loop = (async () => {
    while (!stopped) {
      try {
        // One cheap lookup while idle; a transaction only when something is pending.
        const pending = await selectRows(db, `select 1 from usage_journal where applied_at is null limit 1`);
        const done = pending.length ? await foldOnce(db, o, stats) : 0;
        if (done > 0) idle = 1;
        else {
          await pause(idle);
          idle = Math.min(idleMs, idle * 2);
        }
      } catch (err) {
        o.log?.error({ err }, 'usage journal: a pass failed; trying again');
        await pause(100);
      }
    }
  })();
  return {
    stats,
    async drain() {
      while ((await foldOnce(db, o, stats)) > 0);
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}

/** Deletes applied rows older than `olderThanMs` (default a day): a retry of theirs is long over. */
export async function purgeAppliedJournal(db: Db, olderThanMs = 86_400_000, now = new Date()): Promise<number> {
  const r = await db.raw(`delete from usage_journal where applied_at is not null and applied_at < ?`, [new Date(now.getTime() - olderThanMs)]);
  return (r as { rowCount?: number }).rowCount ?? 0;
}
