/**
 * What a run's answer says about its charge when the charge fails (runs.ts settleRun,
 * chargeOnQuota, chargedAfterFailure): `charged: false` only when it is known — the void went
 * through, or the Control Plane refused the charge — and `"unknown"` when neither the charge nor
 * its void was answered, because an attempt may have committed before its answer was lost.
 * A run answered uncharged is then never charged; a run that may have been charged is never
 * answered uncharged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../platform/errors';
import { createLogger } from '../platform/logger';
import type { GatewayDeps } from './deps';
import { noWaits } from './overhead';
import type { QuotaHold } from './quotas';
import { settleRun, type Admitted, type RunContext } from './runs';

const unreachable = () => new AppError('CONTROL_PLANE_UNAVAILABLE', 'The control plane is unreachable; the request was refused', { reason: 'ECONNRESET' });
const settlement = { reservationId: 'res_1', runId: 'run_1', creditsCharged: 3, creditsMetered: 3, balance: 97, available: 97, settledAt: new Date().toISOString() };

function fakes(cp: Record<string, unknown>) {
  const calls: string[] = [];
  const record = (name: string, fn: (...a: unknown[]) => Promise<unknown>) => (...a: unknown[]) => (calls.push(name), fn(...a));
  const wrap = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'function' ? record(k, v as () => Promise<unknown>) : wrap(v as Record<string, unknown>)]));
  return { deps: { cp: wrap(cp) } as unknown as GatewayDeps, calls };
}

const ctx: RunContext = { requestId: 'req_1', signal: new AbortController().signal, log: createLogger({ level: 'silent' }), annotate: () => undefined };

function admitted(quota?: QuotaHold): Admitted {
  return {
    kind: 'admitted', runId: 'run_1', reservation: { reservationId: 'res_1', runId: 'run_1' }, quota, started: performance.now(), createdAt: new Date(),
    admission: { attemptId: 'att_1', callerKind: 'api_key', callerSubject: 'key_1' }, ent: { instanceId: 'inst_1' },
  } as unknown as Admitted;
}

function quotaHold() {
  const seen: { settled?: number; released: number } = { released: 0 };
  const hold: QuotaHold = { quotaId: 'quo_1', holder: 'gw-1', hold: 50, settled: (n) => void (seen.settled = n), released: () => void seen.released++, lost: () => undefined };
  return { hold, seen };
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    return err;
  }
  assert.fail('the settle was expected to fail');
}

const finish = { status: 'succeeded' as const, output: { text: 'ok' } };

test('settle and its void both unanswered: the answer says the charge is unknown, not uncharged', async () => {
  const { deps, calls } = fakes({ settle: async () => { throw unreachable(); }, void: async () => { throw unreachable(); } });
  const err = await failure(settleRun(deps, ctx, noWaits(), admitted(), { runs: 1 }, finish));
  assert.equal(err.code, 'CONTROL_PLANE_UNAVAILABLE');
  assert.equal(err.details?.charged, 'unknown');
  assert.equal(err.details?.voided, false);
  assert.equal(err.details?.runId, 'run_1');
  assert.deepEqual(calls, ['settle', 'void']);
});

test('settle unanswered, the void made: uncharged, and said so', async () => {
  const { deps } = fakes({ settle: async () => { throw unreachable(); }, void: async () => ({}) });
  const err = await failure(settleRun(deps, ctx, noWaits(), admitted(), { runs: 1 }, finish));
  assert.equal(err.details?.charged, false);
  assert.equal(err.details?.voided, true);
});

test('the void finds the run settled (an attempt committed, its answer lost): the settlement is fetched again and answered', async () => {
  let settles = 0;
  const { deps, calls } = fakes({
    settle: async () => {
      if (settles++ === 0) throw unreachable();
      return settlement;
    },
    void: async () => { throw new AppError('RESERVATION_ALREADY_RESOLVED', 'settled'); },
  });
  const s = await settleRun(deps, ctx, noWaits(), admitted(), { runs: 1 }, finish);
  assert.equal(s.creditsCharged, 3);
  assert.deepEqual(calls, ['settle', 'void', 'settle']);
});

test('a quota charge and its void both unanswered: "unknown", and the hold stays spent on this replica', async () => {
  const { hold, seen } = quotaHold();
  const { deps, calls } = fakes({ quotas: { charge: async () => { throw unreachable(); }, voidRun: async () => { throw unreachable(); } } });
  const err = await failure(settleRun(deps, ctx, noWaits(), admitted(hold), { runs: 1 }, finish));
  assert.equal(err.details?.charged, 'unknown');
  assert.equal(seen.released, 0, 'an hold whose charge is unknown is not given back to admit other runs');
  assert.equal(seen.settled, 50, 'counted as charged in full');
  assert.deepEqual(calls, ['charge', 'voidRun']);
});

test('a quota charge refused by the Control Plane (nothing committed): uncharged, the hold comes back', async () => {
  const { hold, seen } = quotaHold();
  const { deps, calls } = fakes({ quotas: { charge: async () => { throw new AppError('UNPROCESSABLE', 'The quota is for another instance'); } } });
  const err = await failure(settleRun(deps, ctx, noWaits(), admitted(hold), { runs: 1 }, finish));
  assert.equal(err.details?.charged, false);
  assert.equal(seen.released, 1);
  assert.deepEqual(calls, ['charge']);
});

test('a quota charge unanswered, its void made: uncharged, the hold comes back', async () => {
  const { hold, seen } = quotaHold();
  const { deps } = fakes({ quotas: { charge: async () => { throw unreachable(); }, voidRun: async () => ({ runId: 'run_1', status: 'failed', replayed: false }) } });
  const err = await failure(settleRun(deps, ctx, noWaits(), admitted(hold), { runs: 1 }, finish));
  assert.equal(err.details?.charged, false);
  assert.equal(err.details?.voided, true);
  assert.equal(seen.released, 1);
});
