import { createHash } from 'node:crypto';
import { AppError } from '../platform/errors';

/**
 * `Idempotency-Key` on invokeTool: a repeated invoke (same caller, same key, same payload) replays
 * the first successful answer instead of calling the tool again; concurrent duplicates share one
 * execution; the same key with another payload is 409 IDEMPOTENCY_PAYLOAD_MISMATCH. Failures are
 * not remembered (a retry after a refusal or an outage may run). In-process and bounded (24 h,
 * 10,000 keys): the connector gateway has no database of its own; the key is also forwarded to the
 * tool so an API that deduplicates protects writes across replicas.
 */
export class ReplayCache<T> {
  private readonly entries = new Map<string, { hash: string; at: number; value?: T; pending?: Promise<T> }>();

  constructor(private readonly ttlMs = 24 * 3600_000, private readonly max = 10_000, private readonly now: () => number = Date.now) {}

  static hash(payload: unknown): string {
    return createHash('sha256').update(JSON.stringify(payload)).digest('hex');
  }

  async run(scope: string, key: string, payload: unknown, work: () => Promise<T>): Promise<{ value: T; replayed: boolean }> {
    const id = `${scope}\u0000${key}`;
    const hash = ReplayCache.hash(payload);
    const hit = this.entries.get(id);
    if (hit && this.now() - hit.at < this.ttlMs) {
      if (hit.hash !== hash) throw new AppError('IDEMPOTENCY_PAYLOAD_MISMATCH', 'This Idempotency-Key was used with another request', { key });
      if (hit.value !== undefined) return { value: hit.value, replayed: true };
      if (hit.pending) return { value: await hit.pending, replayed: true };
    }
    const entry: { hash: string; at: number; value?: T; pending?: Promise<T> } = { hash, at: this.now() };
    entry.pending = work();
    this.entries.set(id, entry);
    try {
      entry.value = await entry.pending;
      entry.pending = undefined;
      this.evict();
      return { value: entry.value, replayed: false };
    } catch (err) {
      if (this.entries.get(id) === entry) this.entries.delete(id);
      throw err;
    }
  }

  private evict(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.max && e.at >= cutoff) break;
      if (!e.pending) this.entries.delete(k);
    }
  }
}
