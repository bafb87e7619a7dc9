/**
 * `maxCallsPerRun` of MCP tools: how many calls one run (instance id + run id) has made. `take`
 * counts a call and says whether it is within the limit, in one step, so concurrent calls of one
 * run cannot both take the last slot. In-process and bounded (runs are forgotten after `ttlMs`,
 * at most `max` runs kept): a run's tool calls come from the one Runner executing it, and with
 * several connector-gateway replicas behind a balancer each replica holds its own count, so the
 * limit is per replica there (stated in the README).
 */
export interface RunCallCounter {
  take(key: string, limit: number): { allowed: boolean; count: number };
}

export class MemoryRunCallCounter implements RunCallCounter {
  private readonly runs = new Map<string, { count: number; at: number }>();

  constructor(private readonly ttlMs = 6 * 3600_000, private readonly max = 100_000, private readonly now: () => number = Date.now) {}

  take(key: string, limit: number): { allowed: boolean; count: number } {
    const t = this.now();
    let entry = this.runs.get(key);
    if (!entry || t - entry.at > this.ttlMs) {
      entry = { count: 0, at: t };
      this.runs.delete(key);
      this.runs.set(key, entry);
      this.evict(t);
    }
    if (entry.count >= limit) return { allowed: false, count: entry.count };
    entry.count += 1;
    return { allowed: true, count: entry.count };
  }

  private evict(t: number): void {
    for (const [k, e] of this.runs) {
      if (this.runs.size <= this.max && t - e.at <= this.ttlMs) break;
      this.runs.delete(k);
    }
  }
}
