import type { Handler } from '../../generated/control-plane/operations';
import { toReservation } from '../../src/money/reservation-view';
import { idempotent } from '../../src/control-plane/idempotent';
import { deadlineFrom } from '../../src/money/bounds';
import { holdForInstance } from '../../src/money/instance-holds';
import { authorizeRun } from '../../src/money/runs';
import { AppError } from '../../src/platform/errors';

/**
 * POST /billing/authorize — with `run` (the gateway's runs): admit and record the run with its
 * hold (src/money/runs.ts authorizeRun); without: reserve `estimatedBudget` (Idempotency-Key required).
 */
export const authorizeBudget: Handler<'authorizeBudget'> = async (req, ctx) => {
  const b = req.body;
  ctx.annotate({ instanceId: b.instanceId, runId: b.runId });
  if (b.run) {
    const r = await authorizeRun(
      ctx.deps.db,
      { instanceId: b.instanceId, walletId: b.walletId, runId: b.runId, ttlSeconds: b.ttlSeconds, run: b.run },
      { money: ctx.deps.money, bounds: deadlineFrom(timeoutOf(req.headers['x-request-timeout-ms'])) },
    );
    if (r.kind === 'replay') {
      const reservation = r.reservation ? toReservation(r.reservation) : undefined;
      return {
        status: 200 as const,
        body: { ...(reservation ?? emptyReservation(b.instanceId, b.runId)), run: { status: r.status, replayed: true, replay: r.replay } },
      };
    }
    return {
      status: 201 as const,
      body: { ...toReservation(r.reservation, r), run: { status: 'running' as const, replayed: r.replayed, history: r.history, ...(r.handover ? { handover: r.handover } : {}), ...(r.transcript ? { transcript: r.transcript } : {}) } },
      headers: { 'Idempotent-Replayed': r.replayed ? 'true' : 'false' },
    };
  }
  if (!req.headers['idempotency-key']) throw new AppError('VALIDATION_FAILED', 'Idempotency-Key is required without `run`', { errors: [{ path: '/headers/idempotency-key', message: 'is required without run' }] });
  if (b.estimatedBudget === undefined) throw new AppError('VALIDATION_FAILED', 'estimatedBudget is required without `run`', { errors: [{ path: '/body/estimatedBudget', message: 'is required without run' }] });
  const amount = b.estimatedBudget;
  return idempotent(req, ctx, async (trx) => {
    const r = await holdForInstance(trx, { instanceId: b.instanceId, walletId: b.walletId, runId: b.runId, amount, ttlSeconds: b.ttlSeconds }, ctx.deps.money);
    ctx.annotate({ orgId: r.orgId, projectId: r.projectId });
    return { status: 201 as const, body: toReservation(r.reservation, r) };
  });
};

export function timeoutOf(header: unknown): number | undefined {
  const n = Number(header);
  return header === undefined || header === '' || !Number.isFinite(n) ? undefined : n;
}

/** A refused run (no reservation) replayed: the answer is in `run.replay`. */
function emptyReservation(instanceId: string, runId: string) {
  const at = new Date(0).toISOString();
  return { reservationId: 'res_none00000000', walletId: '', instanceId, runId, amount: 0, status: 'voided' as const, expiresAt: at, createdAt: at, resolvedAt: at, ledgerEntryId: null, creditsCharged: null };
}
