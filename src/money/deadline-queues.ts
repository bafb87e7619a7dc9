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

/** The earliest and the latest deadline of a batch. */
export function deadlineSpan(batch: readonly Deadlined[]): { first: number; last: number } {
  let first = Infinity;
  let last = 0;
  for (const p of batch) {
    if (p.deadline < first) first = p.deadline;
    if (p.deadline > last) last = p.deadline;
  }
  return { first, last };
}

/** Thrown inside a batch's transaction (rolling it back) when one of its jobs' callers has given up. */
export class DeadlinePassed extends Error {}

/** Right before COMMIT: never commit for a caller that has given up. */
export function checkDeadlines(batch: readonly Deadlined[]): void {
  const at = Date.now();
  for (const p of batch) if (at >= p.deadline) throw new DeadlinePassed();
}

/** After a DeadlinePassed rollback: refuses the jobs past their deadline, answers the rest (to run again). */
export function stillWaiting<P extends Deadlined>(batch: readonly P[], expired: (job: P) => unknown): P[] {
  const t = Date.now();
  return batch.filter((p) => {
    if (t < p.deadline) return true;
    p.reject(expired(p));
    return false;
  });
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
