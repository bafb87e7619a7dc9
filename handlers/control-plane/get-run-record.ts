import type { Handler } from '../../generated/control-plane/operations';
import { catchUpJournal } from '../../src/money/usage-journal';
import { readRun } from '../../src/runs/history';

/** GET /runs/{runId} — a run's durable record, to its project's members and keys, or its widget owner via the gateway. */
export const getRunRecord: Handler<'getRunRecord'> = async (req, ctx) => {
  // A quota run's record is written when its journaled charge is applied.
  await catchUpJournal(ctx.deps.db, { runId: req.params.runId }, { money: ctx.deps.money });
  return { status: 200, body: await readRun(ctx.deps.db, ctx.caller, req.params.runId, req.query.owner) };
};
