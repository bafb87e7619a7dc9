import type { Handler } from '../../generated/control-plane/operations';
import { actorOf } from '../../src/audit';
import { toReservation } from '../../src/money/reservation-view';
import { idempotent } from '../../src/control-plane/idempotent';
import { deadlineFrom } from '../../src/money/bounds';
import { voidRun } from '../../src/money/runs';
import type { RunFinish } from '../../src/runs/records';
import { timeoutOf } from './authorize-budget';

/** POST /billing/void — release a reservation (the run failed or was refused) and finish its run record; nothing is charged. */
export const voidReservation: Handler<'voidReservation'> = async (req, ctx) => {
  const b = req.body;
  ctx.annotate({ reservationId: b.reservationId });
  const input = { reservationId: b.reservationId, reason: b.reason, run: b.run as RunFinish | undefined };
  const deps = { money: ctx.deps.money, actor: actorOf(ctx.caller), requestId: ctx.requestId, bounds: deadlineFrom(timeoutOf(req.headers['x-request-timeout-ms'])) };
  const work = async (db: Parameters<typeof voidRun>[0]) => {
    const r = await voidRun(db, input, deps);
    return { status: 200 as const, body: toReservation(r.reservation, undefined, b.reason) };
  };
  if (req.headers['idempotency-key']) return idempotent(req, ctx, (trx) => work(trx as never));
  return work(ctx.deps.db);
};
