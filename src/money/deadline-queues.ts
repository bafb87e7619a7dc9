/**
 * Queues of work with deadlines, drained one batch at a time per key: what the wallet batcher
 * (per wallet) and the charge combiner (per database) share. A push onto an idle queue starts
 * its drain; each round takes up to `maxBatch` jobs, refuses those already past their deadline
 * (`expired(job)`), and hands the rest to `run`, whose answer (jobs to try again) goes first in
 * the next round. An empty queue is forgotten.
 */
export interface Deadlined {
  deadline: number;
  reject(err: unknown): void;
}

export class DeadlineQueues<P extends Deadlined> {
  private readonly queues = new Map<unknown, { jobs: P[]; running: boolean }>();

  constructor(private readonly opts: { maxBatch: () => number; expired: (job: P) => unknown }) {}

  push(key: unknown, job: P, run: (batch: P[]) => Promise<P[]>): void {
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = { jobs: [], running: false }));
    q.jobs.push(job);
    if (!q.running) void this.drain(key, q, run);
  }

  private async drain(key: unknown, queue: { jobs: P[]; running: boolean }, run: (batch: P[]) => Promise<P[]>): Promise<void> {
    queue.running = true;
    try {
      while (queue.jobs.length > 0) {
        const now = Date.now();
        const batch: P[] = [];
        while (queue.jobs.length > 0 && batch.length < this.opts.maxBatch()) {
          const job = queue.jobs.shift()!;
          if (now >= job.deadline) job.reject(this.opts.expired(job));
          else batch.push(job);
        }
        if (batch.length === 0) continue;
        const again = await run(batch);
        if (again.length) queue.jobs.unshift(...again);
      }
    } finally {
      queue.running = false;
      if (queue.jobs.length === 0) this.queues.delete(key);
    }
  }
}
