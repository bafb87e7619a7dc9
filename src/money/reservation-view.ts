import type { Reservation } from '../../generated/control-plane/types';
import type { ReservationView } from './types';
import type { Wire } from '../platform/http/wire';

/** The API shape of a reservation (optionally with the wallet's balance right after). */
export function toReservation(r: ReservationView, wallet?: { balance: number; available: number }, voidReason?: string | null): Wire<Reservation> {
  const out: Wire<Reservation> = {
    reservationId: r.id,
    walletId: r.walletId,
    instanceId: r.instanceId ?? '',
    runId: r.runId ?? '',
    amount: r.amount,
    status: r.status,
    expiresAt: r.expiresAt.toISOString(),
    createdAt: r.createdAt.toISOString(),
    resolvedAt: r.resolvedAt ? r.resolvedAt.toISOString() : null,
    ledgerEntryId: r.settledEntryId,
    creditsCharged: r.charged,
  };
  if (wallet) {
    out.balance = wallet.balance;
    out.available = wallet.available;
  }
  if (voidReason !== undefined) out.voidReason = voidReason;
  return out;
}
