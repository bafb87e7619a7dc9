/**
 * The gateway's side of the usage journal (src/money/usage-journal.ts): a quota run's charge is
 * one autocommitted INSERT into the Control Plane database's `usage_journal`, committed before
 * the run's answer, instead of an HTTP call that makes the charge in a transaction.
 *
 * The INSERT is accepted only while the run's quota is open, held by this replica for the run's
 * instance and not past its expiry (the row's wallet, org and instance are the quota's) (it holds the quota KEY SHARE until it commits, so a release or an expiry waits for
 * it: journal-guards.ts). Refused → 409 RESERVATION_EXPIRED with the quota's id, which the run
 * path already answers by admitting the run with its own hold (runs.ts, chargeOnQuota).
 *
 * The answer is the charge as the Control Plane will make it — creditsCharged = min(metered,
 * hold), metered with the same registry rates — and the wallet as it will be: the balance less
 * every charge still pending (read in the same statement, so one snapshot), the available
 * credits unchanged (a quota run's charge comes out of the quota's hold). `ledgerEntryId` is null
 * until the row is applied; GET /v1/runs/{runId} shows it then.
 *
 * Many transfers per commit: the charges waiting at the same moment go in one multi-row INSERT
 * (one round trip, one COMMIT), and the next statement takes whatever arrived while this one ran
 * — one row when the replica is idle, dozens under load (DeadlineQueues, as the Control Plane's
 * charge combiner). Two statements may be in flight, each quota's charges always in the same one.
 *
 * A retry after an unknown outcome (the connection dropped around the COMMIT) inserts nothing
 * (ON CONFLICT on the run id) and answers from the row the first attempt wrote. When every
 * attempt fails the error is a 503: the run path then records the run uncharged through the
 * Control Plane's void, which refuses if the row did commit (and the charge is answered then).
 */
import pg from 'pg';
import type { Entitlements, QuotaRunCharge, Settlement } from '../../generated/control-plane/types';
import { DeadlineQueues, type Deadlined } from '../money/deadline-queues';
import { meterCapabilities } from '../money/metering';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';

export interface UsageJournal {
  /** Records the run's charge on its quota; answers the run's settlement (see the module comment). */
  charge(quotaId: string, ent: Pick<Entitlements, 'instanceId' | 'capabilities'>, charge: QuotaRunCharge): Promise<Settlement>;
  close(): Promise<void>;
}

export interface UsageJournalOptions {
  /** The Control Plane's PostgreSQL (a role that may insert into usage_journal and read reservations and wallets). */
  url: string;
  log: Logger;
  /** Rows per INSERT (default 256). */
  maxBatch?: number;
  /** Per statement (default 2 s); attempts (default 3). */
  timeoutMs?: number;
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface Job extends Deadlined {
  quotaId: string;
  instanceId: string;
  charge: QuotaRunCharge;
  metered: ReturnType<typeof meterCapabilities>;
  charged: number;
  /** Statements that found the run's row committed after their snapshot. */
  again: number;
  resolve(s: Settlement): void;
}

interface Answer {
  n: number;
  inserted: boolean;
  open: boolean;
  e_reservation: string | null;
  e_requested: string | null;
  wallet_id: string | null;
  balance: string | null;
  reserved: string | null;
  low_balance_threshold: string | null;
  pending: string | null;
}

/**
 * The batch's rows (unnest … with ordinality: `n` is the job's place), the open quotas they may be
 * written on (KEY SHARE until COMMIT), the rows inserted, and per job: inserted or not, its quota
 * open or not, the row already there (a retry), and its wallet with the charges pending on it
 * before this statement (its own snapshot does not see the rows it inserts).
 */
const INSERT = `
with i as (
  select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::jsonb[])
    with ordinality as t(quota_id, holder, run_id, reservation_id, instance_id, requested, charged, charge, n)),
q as (
  select i.n, r.id, r.wallet_id, r.instance_id, w.org_id
    from i join reservations r on r.id = i.quota_id join wallets w on w.id = r.wallet_id
   where r.kind = 'quota' and r.status = 'open' and r.holder = i.holder and r.instance_id = i.instance_id and r.expires_at > now()
   for key share of r),
ins as (
  insert into usage_journal (run_id, reservation_id, quota_id, wallet_id, org_id, instance_id, requested, charged, charge)
  select i.run_id, i.reservation_id, q.id, q.wallet_id, q.org_id, q.instance_id, i.requested, i.charged, i.charge from i join q on q.n = i.n
  on conflict (run_id) do nothing
  returning run_id),
e as (select run_id, reservation_id, requested, wallet_id from usage_journal where run_id in (select run_id from i))
select i.n::int as n, exists (select 1 from ins where ins.run_id = i.run_id) as inserted, q.n is not null as open,
       e.reservation_id as e_reservation, e.requested as e_requested,
       w.id as wallet_id, w.balance, w.reserved, w.low_balance_threshold,
       (select coalesce(sum(j.charged), 0) from usage_journal j where j.wallet_id = w.id and j.applied_at is null) as pending
  from i left join q on q.n = i.n left join e on e.run_id = i.run_id
  left join wallets w on w.id = coalesce(q.wallet_id, e.wallet_id)
 order by i.n`;

/** Errors worth another attempt: the connection, not the statement. */
function transient(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === undefined || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '40001' || code === '40P01' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT';
}

const unavailable = (runId: string, cause?: unknown) =>
  new AppError('DEPENDENCY_UNAVAILABLE', 'The usage journal is unavailable; the charge may not be recorded', { dependency: 'usage_journal', runId }, cause === undefined ? undefined : { cause });

export function createUsageJournal(o: UsageJournalOptions): UsageJournal {
  const timeoutMs = o.timeoutMs ?? 2_000;
  const attempts = Math.max(1, o.attempts ?? 3);
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pool = new pg.Pool({
    connectionString: o.url,
    max: 4,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
    application_name: 'gateway-usage-journal',
  });
  pool.on('error', (err) => o.log.warn({ err }, 'usage journal: an idle connection failed'));
  // Nothing was sent for a job refused here: it is known not recorded.
  const queues = new DeadlineQueues<Job>({ maxBatch: () => o.maxBatch ?? 256, expired: (j) => unavailable(j.charge.runId) });

  async function write(batch: Job[]): Promise<Job[]> {
    // One row per run in a statement: a run's second job waits for the next one (and finds the first's row).
    const seen = new Set<string>();
    const later: Job[] = [];
    const jobs = batch.filter((j) => (seen.has(j.charge.runId) ? (later.push(j), false) : (seen.add(j.charge.runId), true)));
    const col = <T>(f: (j: Job) => T) => jobs.map(f);
    const params = [
      col((j) => j.quotaId), col((j) => j.charge.holder), col((j) => j.charge.runId), col((j) => j.charge.reservationId), col((j) => j.instanceId),
      col((j) => String(j.metered.total)), col((j) => String(j.charged)), col((j) => JSON.stringify(j.charge)),
    ];
    let rows: Answer[] | undefined;
    for (let i = 1; ; i++) {
      try {
        rows = (await pool.query<Answer>({ name: 'usage-journal-insert', text: INSERT, values: params })).rows;
        break;
      } catch (err) {
        if (i >= attempts || !transient(err)) {
          o.log.warn({ err, runs: jobs.length }, 'usage journal: charges not recorded');
          for (const j of jobs) j.reject(unavailable(j.charge.runId, err));
          return later;
        }
        await sleep(50 * i);
      }
    }
    // The balance once every pending charge is applied: those before this statement, and this
    // statement's own rows up to each one, per wallet.
    const added = new Map<string, number>();
    for (const a of rows) {
      const j = jobs[a.n - 1]!;
      if (!a.inserted) {
        if (a.e_reservation === null) {
          // Its row committed after this statement's snapshot (a concurrent attempt): the next one sees it.
          if (a.open && ++j.again <= attempts) {
            later.push(j);
            continue;
          }
          j.reject(new AppError('RESERVATION_EXPIRED', 'The credit quota is no longer open for this run', { reservationId: j.quotaId }));
          continue;
        }
        if (a.e_reservation !== j.charge.reservationId || Number(a.e_requested) !== j.metered.total) {
          j.reject(new AppError('RESERVATION_ALREADY_RESOLVED', 'This run was already charged differently', { runId: j.charge.runId, reservationId: a.e_reservation }));
          continue;
        }
      }
      const mine = a.inserted ? (added.get(a.wallet_id!) ?? 0) + j.charged : added.get(a.wallet_id!) ?? 0;
      if (a.inserted) added.set(a.wallet_id!, mine);
      const balance = Math.max(0, Number(a.balance) - Number(a.pending) - mine);
      const threshold = a.low_balance_threshold === null ? null : Number(a.low_balance_threshold);
      j.resolve({
        reservationId: j.charge.reservationId,
        runId: j.charge.runId,
        ledgerEntryId: null,
        ledgerEntryIds: [],
        creditsMetered: j.metered.total,
        creditsCharged: j.charged,
        overage: j.metered.total > j.charge.hold,
        lines: j.metered.lines,
        balance,
        available: Math.max(0, Number(a.balance) - Number(a.reserved)),
        lowBalance: threshold !== null && balance < threshold,
        settledAt: new Date().toISOString(),
      });
    }
    return later;
  }

  return {
    charge(quotaId, ent, charge) {
      const metered = meterCapabilities(ent.capabilities, charge.usage);
      return new Promise<Settlement>((resolve, reject) => {
        const job: Job = { quotaId, instanceId: ent.instanceId, charge, metered, charged: Math.min(metered.total, charge.hold), again: 0, deadline: Date.now() + timeoutMs * attempts, resolve, reject };
        // Two statements in flight at most; a quota's charges always share one queue.
        queues.push(quotaId.charCodeAt(quotaId.length - 1) % 2, job, write);
      });
    },
    async close() {
      await pool.end();
    },
  };
}
