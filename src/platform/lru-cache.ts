/** A small LRU map bounded by entry count and by total size (the sizes the caller reports). */
export class LruCache<V> {
  private readonly map = new Map<string, { value: V; size: number }>();
  private total = 0;

  constructor(private readonly limits: { maxEntries: number; maxSize: number }) {}

  get(key: string): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.value;
  }

  set(key: string, value: V, size: number): void {
    if (size > this.limits.maxSize || this.limits.maxEntries < 1) return;
    const old = this.map.get(key);
    if (old) {
      this.total -= old.size;
      this.map.delete(key);
    }
    this.map.set(key, { value, size });
    this.total += size;
    while (this.map.size > this.limits.maxEntries || this.total > this.limits.maxSize) {
      const [oldest, entry] = this.map.entries().next().value as [string, { value: V; size: number }];
      this.map.delete(oldest);
      this.total -= entry.size;
    }
  }

  get size(): number {
    return this.map.size;
  }

  get totalSize(): number {
    return this.total;
  }
}
