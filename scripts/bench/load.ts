/** The measuring loop and latency summary shared by the benchmark scripts. */

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles, rounded to microseconds (values in ms). */
export function percentiles(samples: number[]): Percentiles {
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : 0);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: r(at(0.5)), p90: r(at(0.9)), p99: r(at(0.99)), max: r(s[s.length - 1] ?? 0) };
}

export interface LoadOptions<S> {
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  /** One operation of worker `index`; its result is a sample once the warm-up is over. */
  once: (index: number) => Promise<S>;
  /** Every result, warm-up included. */
  onResult?: (sample: S) => void;
  /** Every failure; `measuring` is false during the warm-up. */
  onError?: (err: unknown, measuring: boolean) => void;
}

/**
 * Runs `concurrency` closed-loop workers: a warm-up, then `seconds` of measurement, then waits for
 * the operations in flight. Answers the measured samples, the failures counted while measuring
 * and the measured wall time.
 */
export async function runLoad<S>(o: LoadOptions<S>): Promise<{ samples: S[]; errors: number; elapsedSeconds: number }> {
  const samples: S[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const worker = async (_: unknown, index: number) => {
    while (!stop) {
      try {
        const s = await o.once(index);
        o.onResult?.(s);
        if (measuring) samples.push(s);
      } catch (err) {
        if (measuring) errors++;
        o.onError?.(err, measuring);
      }
    }
  };
  const workers = Array.from({ length: o.concurrency }, worker);
  await new Promise((r) => setTimeout(r, o.warmupSeconds * 1000));
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  measuring = false;
  const elapsedSeconds = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(workers);
  return { samples, errors, elapsedSeconds };
}
