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
 * A retry after an unknown outcome (the connection dropped around the COMMIT) inserts nothing
 * (ON CONFLICT on the run id) and answers from the row the first attempt wrote. When every
 * attempt fails the error is a 503: the run path then records the run uncharged through the
 * Control Plane's void, which refuses if the row did commit (and the charge is answered then).
 */
import pg from 'pg';
import type { Entitlements, QuotaRunCharge, Settlement } from '../../generated/control-plane/types';
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
  maxConnections?: number;
  /** Per statement (default 2 s); attempts (default 3). */
  timeoutMs?: number;
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface InsertAnswer {
  inserted: number;
  open: number;
  e_reservation: string | null;
  e_requested: string | null;
  e_outcome: string | null;
  balance: string | null;
  reserved: string | null;
  low_balance_threshold: string | null;
  pending: string | null;
}

const INSERT = `
with q as (
  select r.id, r.wallet_id, r.instance_id, w.org_id from reservations r join wallets w on w.id = r.wallet_id
   where r.id = $1 and r.kind = 'quota' and r.status = 'open' and r.holder = $2 and r.instance_id = $5 and r.expires_at > now()
   for key share of r),
ins as (
  insert into usage_journal (run_id, reservation_id, quota_id, wallet_id, org_id, instance_id, requested, charged, charge)
  select $3, $4, q.id, q.wallet_id, q.org_id, q.instance_id, $6::bigint, $7::bigint, $8::jsonb from q
  on conflict (run_id) do nothing
  returning run_id),
e as (select reservation_id, requested, outcome, wallet_id from usage_journal where run_id = $3)
select (select count(*) from ins)::int as inserted,
       (select count(*) from q)::int as open,
       e.reservation_id as e_reservation, e.requested as e_requested, e.outcome as e_outcome,
       w.balance, w.reserved, w.low_balance_threshold,
       (select coalesce(sum(j.charged), 0) from usage_journal j where j.wallet_id = w.id and j.applied_at is null) as pending
  from (select 1) one
  left join e on true
  left join wallets w on w.id = coalesce((select wallet_id from q), e.wallet_id)`;

/** Errors worth another attempt: the connection, not the statement. */
function transient(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === undefined || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '40001' || code === '40P01' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT';
}

export function createUsageJournal(o: UsageJournalOptions): UsageJournal {
  const timeoutMs = o.timeoutMs ?? 2_000;
  const attempts = Math.max(1, o.attempts ?? 3);
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.maxConnections ?? 16,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
    application_name: 'gateway-usage-journal',
  });
  pool.on('error', (err) => o.log.warn({ err }, 'usage journal: an idle connection failed'));

  return {
    async charge(quotaId, ent, charge) {
      const metered = meterCapabilities(ent.capabilities, charge.usage);
      const charged = Math.min(metered.total, charge.hold);
      const params = [quotaId, charge.holder, charge.runId, charge.reservationId, ent.instanceId, String(metered.total), String(charged), JSON.stringify(charge)];
      let a: InsertAnswer | undefined;
      for (let i = 1; ; i++) {
        try {
          a = (await pool.query<InsertAnswer>(INSERT, params)).rows[0]!;
          // The same run's row committed by a concurrent attempt after this statement's snapshot:
          // the next statement sees it.
          if (a.inserted === 0 && a.e_reservation === null && a.open === 1 && i < attempts + 2) continue;
          break;
        } catch (err) {
          if (i >= attempts || !transient(err)) {
            o.log.warn({ err, runId: charge.runId }, 'usage journal: the charge was not recorded');
            throw new AppError('DEPENDENCY_UNAVAILABLE', 'The usage journal is unavailable; the charge may not be recorded', { dependency: 'usage_journal', runId: charge.runId }, { cause: err });
          }
          await sleep(50 * i);
        }
      }
      if (a.inserted === 0) {
        if (a.e_reservation === null) {
          throw new AppError('RESERVATION_EXPIRED', 'The credit quota is no longer open for this run', { reservationId: quotaId });
        }
        if (a.e_reservation !== charge.reservationId || Number(a.e_requested) !== metered.total) {
          throw new AppError('RESERVATION_ALREADY_RESOLVED', 'This run was already charged differently', { runId: charge.runId, reservationId: a.e_reservation });
        }
        if (a.e_outcome === 'refused') {
          throw new AppError('RESERVATION_ALREADY_RESOLVED', 'This run was recorded uncharged', { runId: charge.runId, reservationId: charge.reservationId });
        }
      }
      // The balance once every pending charge is applied (this one is not in `pending` when it was just inserted).
      const balance = Math.max(0, Number(a.balance) - Number(a.pending) - (a.inserted ? charged : 0));
      const threshold = a.low_balance_threshold === null ? null : Number(a.low_balance_threshold);
      return {
        reservationId: charge.reservationId,
        runId: charge.runId,
        ledgerEntryId: null,
        ledgerEntryIds: [],
        creditsMetered: metered.total,
        creditsCharged: charged,
        overage: metered.total > charge.hold,
        lines: metered.lines,
        balance,
        available: Math.max(0, Number(a.balance) - Number(a.reserved)),
        lowBalance: threshold !== null && balance < threshold,
        settledAt: new Date().toISOString(),
      };
    },
    async close() {
      await pool.end();
    },
  };
}
