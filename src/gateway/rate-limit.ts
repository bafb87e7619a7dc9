/**
 * Token-bucket rate limiting: a run takes one token from each of its buckets, atomically (all or
 * none). A bucket holds at most `burst` tokens and refills at `perMinute` per minute, so a quiet
 * caller may send `burst` runs at once and `perMinute` per minute on average.
 *
 * - in-process (default): a bounded map (least recently used buckets dropped beyond `maxBuckets`;
 *   a dropped bucket comes back full, which only ever errs towards letting a run through);
 * - Redis (REDIS_URL set): rate-limit-redis.ts, one Lua script per decision, so every gateway
 *   replica shares the counters.
 */

export interface BucketSpec {
  /** Stable key, e.g. `inst_…` or `inst_…:caller:<id>`. */
  key: string;
  perMinute: number;
  burst: number;
}

export type RateDecision =
  | { allowed: true; /** Tokens left in the first bucket (X-RateLimit-Remaining). */ remaining: number }
  | { allowed: false; retryAfterSeconds: number; /** The bucket that refused. */ key: string };

export interface RateLimiter {
  take(buckets: BucketSpec[]): Promise<RateDecision>;
  close(): Promise<void>;
}

interface BucketState {
  tokens: number;
  at: number;
}

export function createMemoryRateLimiter(opts: { maxBuckets?: number; now?: () => number } = {}): RateLimiter & { readonly size: number } {
  const maxBuckets = opts.maxBuckets ?? 100_000;
  const now = opts.now ?? Date.now;
  const buckets = new Map<string, BucketState>();
  return {
    async take(specs) {
      return takeSync(specs);
    },
    async close() {
      buckets.clear();
    },
    get size() {
      return buckets.size;
    },
  };

  function takeSync(specs: BucketSpec[]): RateDecision {
    const t = now();
    const levels: number[] = [];
    let worstWaitMs = 0;
    let refusedBy: string | undefined;
    for (const s of specs) {
      const ratePerMs = s.perMinute / 60_000;
      const state = buckets.get(s.key);
      const tokens = state ? Math.min(s.burst, state.tokens + Math.max(0, t - state.at) * ratePerMs) : s.burst;
      levels.push(tokens);
      if (tokens < 1) {
        const wait = (1 - tokens) / ratePerMs;
        if (wait >= worstWaitMs) {
          worstWaitMs = wait;
          refusedBy = s.key;
        }
      }
    }
    if (refusedBy !== undefined) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(worstWaitMs / 1000)), key: refusedBy };
    specs.forEach((s, i) => {
      buckets.delete(s.key); // re-insert: most recently used last
      buckets.set(s.key, { tokens: levels[i]! - 1, at: t });
    });
    while (buckets.size > maxBuckets) buckets.delete(buckets.keys().next().value as string);
    return { allowed: true, remaining: Math.floor(levels[0]! - 1) };
  }
}
