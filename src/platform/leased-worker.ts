/**
 * A worker over a table of leased rows (an inbox or an outbox): claims up to `batch` due rows
 * (`claim` takes a lease, so replicas share the work and a crashed worker's rows come back when
 * the lease runs out), handles them concurrently and looks again at once after a full batch, else
 * after `pollMs` or when `kick`ed (a row was just committed). `stop` aborts the handling in flight
 * and gives those leases back, so a restarted (or another) replica takes them up at once.
 */
import type { Logger } from './logger';

export interface LeasedWorkerOptions<Row extends { id: string }> {
  /** Names the worker in logs and in the abort reason. */
  name: string;
  claim(batch: number, leaseMs: number): Promise<Row[]>;
  /** Handles one claimed row; its own failures are its to log (a throw is logged and the lease runs out). */
  handle(row: Row, signal: AbortSignal): Promise<void>;
  release(ids: string[]): Promise<void>;
  log: Logger;
  pollMs: number;
  /** How long a claimed row is ours (ms); longer than handling can take. */
  leaseMs: number;
  batch: number;
}

export interface LeasedWorker {
  start(): void;
  /** Something was written: look now. */
  kick(): void;
  /** One claim-and-handle round (tests drive a worker with it); answers the rows handled. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function createLeasedWorker<Row extends { id: string }>(o: LeasedWorkerOptions<Row>): LeasedWorker {
  const abort = new AbortController();
  const inFlight = new Set<string>();
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let kicked = false;

  async function handle(row: Row): Promise<void> {
    inFlight.add(row.id);
    try {
      await o.handle(row, abort.signal);
    } catch (err) {
      o.log.error({ err, id: row.id }, `${o.name}: handling failed; the lease runs out`);
    } finally {
      inFlight.delete(row.id);
    }
  }

  async function runOnce(): Promise<number> {
    const claimed = await o.claim(o.batch, o.leaseMs);
    await Promise.all(claimed.map(handle));
    return claimed.length;
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (kicked || abort.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function loop(): Promise<void> {
    while (!abort.signal.aborted) {
      kicked = false;
      let n = 0;
      try {
        n = await runOnce();
      } catch (err) {
        if (!abort.signal.aborted) o.log.error({ err }, `${o.name}: claim failed`);
      }
      // A full batch means more may be due: look again at once.
      if (n < o.batch) await sleep(o.pollMs);
    }
  }

  return {
    start() {
      running ??= loop();
    },
    kick() {
      kicked = true;
      wake?.();
    },
    runOnce,
    async stop() {
      const leased = [...inFlight];
      abort.abort(new Error(`${o.name} stopping`));
      wake?.();
      await running;
      try {
        await o.release(leased);
      } catch (err) {
        o.log.warn({ err }, `${o.name}: could not release leases; they expire on their own`);
      }
    },
  };
}
