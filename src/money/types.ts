/**
 * Shared types of the money domain (wallets, ledger, two-phase billing).
 *
 * Credits are integers (JS numbers within Number.MAX_SAFE_INTEGER; bigint columns).
 * Spend order: GRANTED credits are spent before PAID ones — free/trial credits go first, so a
 * buyer's purchased credits last longest and granted credits (which may later expire) are not
 * stranded. Every ledger row records its `creditType`.
 */
import { AppError } from '../platform/errors';

export type CreditType = 'paid' | 'granted';
export type LedgerKind = 'grant' | 'topup' | 'debit' | 'reversal' | 'expiry';
export type ReservationStatus = 'open' | 'settled' | 'voided' | 'expired';

/** The order in which a debit consumes credit types. */
export const SPEND_ORDER: readonly CreditType[] = ['granted', 'paid'];

export const DEFAULT_STARTER_CREDITS = 1000;
export const DEFAULT_RESERVATION_TTL_SECONDS = 300;
export const MAX_RESERVATION_TTL_SECONDS = 24 * 3600;

export interface WalletView {
  id: string;
  orgId: string;
  projectId: string | null;
  /** Sum of the wallet's ledger. Never negative. */
  balance: number;
  /** Budget held by open, unexpired reservations. */
  reserved: number;
  /** balance − reserved: what a new authorize can take. Never negative. */
  available: number;
  paidBalance: number;
  grantedBalance: number;
  lowBalanceThreshold: number | null;
  /** balance < lowBalanceThreshold (false when no threshold is set). */
  lowBalance: boolean;
  /** Bumped on every change of the wallet row (usable as an ETag). */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface LedgerEntryView {
  id: string;
  walletId: string;
  seq: number;
  kind: LedgerKind;
  creditType: CreditType;
  /** Signed: credits in are positive, debits/expiries negative (a free run's debit is 0). */
  amount: number;
  balanceAfter: number;
  reservationId: string | null;
  runId: string | null;
  reference: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

export interface ReservationView {
  id: string;
  walletId: string;
  instanceId: string | null;
  runId: string | null;
  amount: number;
  status: ReservationStatus;
  expiresAt: Date;
  settledEntryId: string | null;
  requested: number | null;
  charged: number | null;
  overage: boolean;
  resolvedAt: Date | null;
  createdAt: Date;
}

export type MoneyEvent = {
  type: 'wallet.low_balance';
  walletId: string;
  orgId: string;
  projectId: string | null;
  balance: number;
  threshold: number;
  at: Date;
};

/** Where money events go (audit log, webhooks). Called after the change has committed. */
export interface MoneyEvents {
  emit(event: MoneyEvent): void | Promise<void>;
}

export const noopEvents: MoneyEvents = { emit() {} };

/** Injectable dependencies of every money function. All optional. */
export interface MoneyDeps {
  /** The clock used for reservation expiry. Default: the machine's clock. */
  clock?: () => Date;
  events?: MoneyEvents;
  /** Receives errors thrown by `events.emit` (they never fail the money operation). */
  onEventError?: (err: unknown) => void;
}

export function nowOf(deps: MoneyDeps | undefined): Date {
  return deps?.clock ? deps.clock() : new Date();
}

export function invalid(message: string, details?: Record<string, unknown>): AppError {
  return new AppError('VALIDATION_FAILED', message, details);
}

/** An integer number of credits within [min, max], or a VALIDATION_FAILED error. */
export function credits(field: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be an integer from ${min} to ${max}`, { field, value: value ?? null });
  }
  return value;
}

export function nonEmpty(field: string, value: unknown, max = 200): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw invalid(`${field} must be a non-empty string of at most ${max} characters`, { field });
  }
  return value;
}

export function optionalString(field: string, value: unknown, max = 200): string | null {
  if (value === undefined || value === null) return null;
  return nonEmpty(field, value, max);
}
