/**
 * Recent run records for `GET /v1/runs/{runId}` and `Idempotency-Key` replays of `createRun`.
 *
 * Kept in memory, per gateway replica, bounded (default the last 10,000 runs, at most 1 hour
 * old): a run started on another replica, or older than that, answers 404. Why not persisted:
 * the gateway has no database, and the durable facts of a run already live in the Control
 * Plane (its reservation and ledger entries carry the runId); a durable run history is a
 * Control Plane feature to add when a UI needs it, not something to bolt onto the hot path.
 */
import type { RunRecord } from '../../generated/gateway/types';

/** Who may read a run: members of its project (checked with the Control Plane), API keys of its project, or its widget session. */
export interface RunOwner {
  kind: 'user' | 'api_key' | 'widget';
  /** The caller's subject (user id, API key id, widget session id). */
  subject: string;
  instanceId: string;
}

export interface StoredRun {
  record: RunRecord;
  owner: RunOwner;
  /** Set for runs started with an Idempotency-Key. */
  idempotency?: { requestHash: string };
  /** The final answer, for idempotent replays (kept once a budget was reserved, i.e. once the run had effects). */
  answer?: { status: number; body: unknown; headers: Record<string, string> };
}

export interface RunStore {
  get(runId: string): StoredRun | undefined;
  put(run: StoredRun): void;
  /** Marks an idempotent run as in progress; false when it already is (a concurrent duplicate). */
  begin(runId: string): boolean;
  end(runId: string): void;
  readonly size: number;
}

export function createRunStore(opts: { maxRuns?: number; maxAgeMs?: number; now?: () => number } = {}): RunStore {
  const maxRuns = opts.maxRuns ?? 10_000;
  const maxAgeMs = opts.maxAgeMs ?? 3_600_000;
  const now = opts.now ?? Date.now;
  // The stored object itself is kept (the run service completes it in place as the run progresses).
  const runs = new Map<string, { run: StoredRun; at: number }>();
  const inProgress = new Set<string>();
  return {
    begin(runId) {
      if (inProgress.has(runId)) return false;
      inProgress.add(runId);
      return true;
    },
    end(runId) {
      inProgress.delete(runId);
    },
    get(runId) {
      const r = runs.get(runId);
      if (!r) return undefined;
      if (now() - r.at > maxAgeMs) {
        runs.delete(runId);
        return undefined;
      }
      return r.run;
    },
    put(run) {
      const prev = runs.get(run.record.runId);
      runs.delete(run.record.runId);
      runs.set(run.record.runId, { run, at: prev?.at ?? now() });
      while (runs.size > maxRuns) runs.delete(runs.keys().next().value as string);
    },
    get size() {
      return runs.size;
    },
  };
}
