/**
 * What an expiry keeps of the usage journal's promise (usage-journal.ts): a quota whose runs'
 * charges are recorded in the journal but not yet applied stays open until they are — those
 * runs were answered as charged, and their charges come out of the quota's hold.
 *
 * Before an expiry statement, the expiring quotas are locked FOR UPDATE (`lockExpiringQuotas`):
 * a journal insert holds a KEY SHARE lock on its quota until it commits, so the expiry waits for
 * inserts in flight and its next statement sees their rows; inserts that come after find the
 * quota past its expiry and are refused. Then `QUOTA_HAS_NO_PENDING_CHARGES` leaves out the
 * quotas that still have pending rows (the folder applies them; a later expiry ends the quota).
 */
import type { Db } from '../db/tx';

/** SQL condition on a `reservations` row (unaliased): not a quota with pending journal rows. */
export const QUOTA_HAS_NO_PENDING_CHARGES =
  `not (reservations.kind = 'quota' and exists (select 1 from usage_journal j where j.quota_id = reservations.id and j.applied_at is null))`;

/** Locks the wallets' overdue open quotas FOR UPDATE (the caller holds the wallets' locks). */
export async function lockExpiringQuotas(trx: Db, walletIds: string[], now: Date): Promise<void> {
  await trx.raw(
    `select id from reservations where wallet_id = any(?) and kind = 'quota' and status = 'open' and expires_at <= ? order by id for update`,
    [walletIds, now],
  );
}
