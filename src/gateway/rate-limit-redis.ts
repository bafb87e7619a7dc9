/**
 * The shared rate limiter: the same token buckets as rate-limit.ts, kept in Redis hashes and
 * decided by one Lua script (atomic across every gateway replica; the clock is Redis's `TIME`,
 * so replicas with skewed clocks agree). Keys carry the instance id as a hash tag
 * (`rl:{inst_…}:…`), so one decision's buckets live in one Redis Cluster slot. Idle buckets
 * expire once they would be full again.
 *
 * Redis unreachable or slow (> `commandTimeoutMs`): the decision falls back to the in-process
 * limiter of this replica (logged and counted): rate limits protect capacity, credits protect
 * money, and the credits check (authorize) never depends on Redis.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../platform/logger';
import { createMemoryRateLimiter, type BucketSpec, type RateDecision, type RateLimiter } from './rate-limit';

/**
 * KEYS = buckets; ARGV = perMinute, burst for each. Returns {1, 0, remaining in the first bucket}
 * or {0, retryAfterMs, index (1-based) of the bucket that refused}.
 */
export const TOKEN_BUCKET_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local levels = {}
local worst = 0
local worstAt = 1
local allowed = 1
for i = 1, n do
  local rate = tonumber(ARGV[2 * i - 1]) / 60000
  local cap = tonumber(ARGV[2 * i])
  local s = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens = tonumber(s[1])
  local at = tonumber(s[2])
  if tokens == nil or at == nil then
    tokens = cap
  else
    tokens = math.min(cap, tokens + math.max(0, now - at) * rate)
  end
  levels[i] = tokens
  if tokens < 1 then
    allowed = 0
    local wait = (1 - tokens) / rate
    if wait >= worst then
      worst = wait
      worstAt = i
    end
  end
end
if allowed == 0 then
  return {0, math.ceil(worst), worstAt}
end
for i = 1, n do
  local rate = tonumber(ARGV[2 * i - 1]) / 60000
  local cap = tonumber(ARGV[2 * i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - 1), 'at', now)
  redis.call('PEXPIRE', KEYS[i], math.ceil(cap / rate) + 1000)
end
return {1, 0, math.floor(levels[1] - 1)}
`;

export interface RedisRateLimiterOptions {
  url: string;
  log: Logger;
  /** Key prefix (tests isolate themselves with it). */
  prefix?: string;
  commandTimeoutMs?: number;
  /** Told when a decision fell back to the in-process limiter. */
  onFallback?: (err: unknown) => void;
}

type TakeCommand = (numKeys: number, ...args: (string | number)[]) => Promise<[number, number, number]>;

/** `rl:{<instance>}:<rest>` from a bucket key `<instance>[:<rest>]`. */
export function redisKey(prefix: string, bucket: string): string {
  const i = bucket.indexOf(':');
  return i < 0 ? `${prefix}{${bucket}}` : `${prefix}{${bucket.slice(0, i)}}${bucket.slice(i)}`;
}

export function createRedisRateLimiter(opts: RedisRateLimiterOptions): RateLimiter & { redis: Redis; ready(timeoutMs?: number): Promise<boolean> } {
  const prefix = opts.prefix ?? 'rl:';
  const redis = new Redis(opts.url, {
    maxRetriesPerRequest: 1,
    // Disconnected: fail at once (and decide in-process) rather than queue runs behind a reconnect.
    enableOfflineQueue: false,
    commandTimeout: opts.commandTimeoutMs ?? 250,
    connectTimeout: 2_000,
  });
  let lastWarn = 0;
  redis.on('error', (err) => {
    if (Date.now() - lastWarn > 10_000) {
      lastWarn = Date.now();
      opts.log.warn({ err }, 'rate limiter: redis error');
    }
  });
  redis.defineCommand('gatewayTakeTokens', { lua: TOKEN_BUCKET_LUA });
  const take = (redis as unknown as { gatewayTakeTokens: TakeCommand }).gatewayTakeTokens.bind(redis);
  const fallback = createMemoryRateLimiter();

  return {
    redis,
    /** Resolves true once connected, false after `timeoutMs` (the limiter works either way). */
    ready(timeoutMs = 2_000) {
      if (redis.status === 'ready') return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => { redis.off('ready', onReady); resolve(false); }, timeoutMs);
        const onReady = () => { clearTimeout(timer); resolve(true); };
        redis.once('ready', onReady);
      });
    },
    async take(specs: BucketSpec[]): Promise<RateDecision> {
      const args: (string | number)[] = specs.map((s) => redisKey(prefix, s.key));
      for (const s of specs) args.push(s.perMinute, s.burst);
      try {
        const [allowed, retryAfterMs, third] = await take(specs.length, ...args);
        if (allowed === 1) return { allowed: true, remaining: Math.max(0, Number(third)) };
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(retryAfterMs) / 1000)), key: (specs[Number(third) - 1] ?? specs[0]!).key };
      } catch (err) {
        opts.onFallback?.(err);
        return fallback.take(specs);
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
      await fallback.close();
    },
  };
}
