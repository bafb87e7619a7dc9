/**
 * `maxConcurrentRuns`: how many runs of one instance may be in flight at once.
 *
 * A run takes a **lease** (its run id, with an expiry) before it is authorized and gives it back
 * when it ends, whatever the path (answer, error, client gone, stream broken: `release` runs in
 * a `finally`). A gateway that crashes mid-run cannot give its leases back; they lapse at their
 * expiry (the longest run, 60 s, plus margin), so a slot is always released.
 *
 * - in-process (no REDIS_URL): a map of the replica's own leases;
 * - Redis (REDIS_URL): one sorted set per instance (`cc:{inst_…}`, member = run id, score =
 *   lease expiry in Redis's own clock), decided by one Lua script: drop lapsed leases, count,
 *   add — atomic across every gateway replica. Redis unreachable → decided in-process (counted,
 *   like the rate limiter: limits protect capacity, the money path never depends on Redis).
 */
import { Redis } from 'ioredis';
import type { Logger } from '../platform/logger';

export type LeaseDecision = { acquired: true } | { acquired: false; active: number };

export interface ConcurrencyLimiter {
  acquire(instanceId: string, runId: string, limit: number, leaseMs: number): Promise<LeaseDecision>;
  release(instanceId: string, runId: string): Promise<void>;
  close(): Promise<void>;
}

export function createMemoryConcurrencyLimiter(opts: { now?: () => number } = {}): ConcurrencyLimiter & { active(instanceId: string): number } {
  const now = opts.now ?? Date.now;
  const leases = new Map<string, Map<string, number>>();
  const live = (instanceId: string) => {
    const m = leases.get(instanceId);
    if (!m) return undefined;
    const t = now();
    for (const [id, until] of m) if (until <= t) m.delete(id);
    if (m.size === 0) leases.delete(instanceId);
    return m.size ? m : undefined;
  };
  return {
    async acquire(instanceId, runId, limit, leaseMs) {
      const m = live(instanceId);
      if (m?.has(runId)) {
        m.set(runId, now() + leaseMs);
        return { acquired: true };
      }
      if ((m?.size ?? 0) >= limit) return { acquired: false, active: m!.size };
      let set = leases.get(instanceId);
      if (!set) leases.set(instanceId, (set = new Map()));
      set.set(runId, now() + leaseMs);
      return { acquired: true };
    },
    async release(instanceId, runId) {
      const m = leases.get(instanceId);
      m?.delete(runId);
      if (m && m.size === 0) leases.delete(instanceId);
    },
    active(instanceId) {
      return live(instanceId)?.size ?? 0;
    },
    async close() {},
  };
}

/** KEYS[1] = the instance's lease set; ARGV = run id, limit, lease ms. Returns {1, n} or {0, n}. */
export const LEASE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local mine = redis.call('ZSCORE', KEYS[1], ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
if (not mine) and n >= tonumber(ARGV[2]) then
  return {0, n}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 1000)
return {1, n}
`;

type LeaseCommand = (numKeys: number, key: string, runId: string, limit: number, leaseMs: number) => Promise<[number, number]>;

export function createRedisConcurrencyLimiter(opts: { url: string; log: Logger; prefix?: string; commandTimeoutMs?: number; onFallback?: (err: unknown) => void }): ConcurrencyLimiter & { redis: Redis; ready(timeoutMs?: number): Promise<boolean> } {
  const prefix = opts.prefix ?? 'cc:';
  const redis = new Redis(opts.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: opts.commandTimeoutMs ?? 250, connectTimeout: 2_000 });
  let lastWarn = 0;
  redis.on('error', (err) => {
    if (Date.now() - lastWarn > 10_000) {
      lastWarn = Date.now();
      opts.log.warn({ err }, 'concurrency limiter: redis error');
    }
  });
  redis.defineCommand('gatewayLease', { lua: LEASE_LUA });
  const lease = (redis as unknown as { gatewayLease: LeaseCommand }).gatewayLease.bind(redis);
  const fallback = createMemoryConcurrencyLimiter();
  const key = (instanceId: string) => `${prefix}{${instanceId}}`;
  return {
    redis,
    /** Resolves true once connected, false after `timeoutMs` (decisions fall back in-process until then). */
    ready(timeoutMs = 2_000) {
      if (redis.status === 'ready') return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => { redis.off('ready', onReady); resolve(false); }, timeoutMs);
        const onReady = () => { clearTimeout(timer); resolve(true); };
        redis.once('ready', onReady);
      });
    },
    async acquire(instanceId, runId, limit, leaseMs) {
      try {
        const [ok, n] = await lease(1, key(instanceId), runId, limit, leaseMs);
        return ok === 1 ? { acquired: true } : { acquired: false, active: Number(n) };
      } catch (err) {
        opts.onFallback?.(err);
        return fallback.acquire(instanceId, runId, limit, leaseMs);
      }
    },
    async release(instanceId, runId) {
      await fallback.release(instanceId, runId);
      try {
        await redis.zrem(key(instanceId), runId);
      } catch (err) {
        opts.onFallback?.(err); // the lease lapses at its expiry
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
