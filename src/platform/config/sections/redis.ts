import { defineSection } from '../define';

/** Redis: rate-limit counters shared by gateway replicas, and instance lifecycle signals to them. */
export const redis = defineSection({
  id: 'redis',
  title: 'Redis (shared rate limits and lifecycle signals)',
  vars: {
    REDIS_URL: { doc: 'Shared rate-limit counters and maxConcurrentRuns leases for all gateway replicas, and instance lifecycle signals (pause, terminate, …) from the control plane to gateways; unset = in-process.', example: 'redis://redis.agentstore-system.svc:6379', secret: true, required: 'production when GATEWAY_REPLICAS > 1' },
  },
  read: (r) => ({ redisUrl: r.url('REDIS_URL', undefined, ['redis:', 'rediss:']) }),
});
