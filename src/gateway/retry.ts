/** Retry schedules of the gateway's calls (Gateway→CP: authorize 3×, settle 5×). */

export interface RetryPolicy {
  /** Attempts in all (1 = no retry). */
  attempts: number;
  /** Delay before the 2nd attempt; doubles each time, with ±25 % jitter. */
  baseDelayMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** HTTP statuses worth another attempt (network errors and timeouts always are). */
  retryStatus: ReadonlySet<number>;
}

const GATEWAY_ERRORS = new Set([502, 503, 504]);
const ANY_5XX = new Set([500, 502, 503, 504]);

export const POLICIES = {
  /** Idempotent by `Idempotency-Key: authz:<runId>`; 3 attempts on 502/503/504/network. */
  authorize: { attempts: 3, baseDelayMs: 25, timeoutMs: 5_000, retryStatus: GATEWAY_ERRORS },
  /** Idempotent by reservationId; 5 attempts on timeouts, 5xx and network errors. */
  settle: { attempts: 5, baseDelayMs: 50, timeoutMs: 5_000, retryStatus: ANY_5XX },
  void: { attempts: 5, baseDelayMs: 50, timeoutMs: 5_000, retryStatus: ANY_5XX },
  /** Reads (entitlements, artifact links, wallets, instances, offerings): one retry. */
  read: { attempts: 2, baseDelayMs: 25, timeoutMs: 3_000, retryStatus: GATEWAY_ERRORS },
  /** Idempotent trial mutations (orgs/auto, instances with a derived Idempotency-Key). */
  trial: { attempts: 3, baseDelayMs: 100, timeoutMs: 10_000, retryStatus: GATEWAY_ERRORS },
} satisfies Record<string, RetryPolicy>;

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function backoffMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const base = policy.baseDelayMs * 2 ** (attempt - 1);
  return Math.round(base * (0.75 + random() * 0.5));
}
