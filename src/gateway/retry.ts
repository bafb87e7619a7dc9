/** Retry schedules of the gateway's calls (Gateway→CP: authorize 3×, settle 5×). */

import type { RetryPolicy } from '../platform/service-client';

export { backoffMs, realSleep, type RetryPolicy, type Sleep } from '../platform/service-client';

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
