import type { Handler } from '../../generated/control-plane/operations';
import { catchUpJournal } from '../../src/money/usage-journal';
import { historyScope, listRuns } from '../../src/runs/history';

/** GET /instances/{instanceId}/runs — the instance's run history, newest first (src/runs/history.ts). */
export const listInstanceRuns: Handler<'listInstanceRuns'> = async (req, ctx) => {
  await catchUpJournal(ctx.deps.db, { instanceId: req.params.instanceId }, { money: ctx.deps.money });
  const scope = await historyScope(ctx.deps.db, ctx.caller, req.params.instanceId, req.query.owner);
  return { status: 200, body: await listRuns(ctx.deps.db, scope, { sessionId: req.query.sessionId, cursor: req.query.cursor, limit: req.query.limit }) };
};
