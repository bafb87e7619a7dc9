import type { Handler } from '../../generated/control-plane/operations';
import { catchUpJournal } from '../../src/money/usage-journal';
import { exportAuditEvents as exportEvents } from '../../src/audit';

const CONTENT_TYPE = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson' } as const;

/** GET /audit/export — the org's events (filtered), oldest first, as CSV or NDJSON. */
export const exportAuditEvents: Handler<'exportAuditEvents'> = async (req, ctx) => {
  const { format = 'ndjson', ...filter } = req.query;
  ctx.annotate({ orgId: filter.orgId });
  await catchUpJournal(ctx.deps.db, { orgId: filter.orgId }, { money: ctx.deps.money });
  return {
    status: 200,
    body: await exportEvents(ctx.deps.db, filter, format),
    contentType: CONTENT_TYPE[format],
    headers: { 'content-disposition': `attachment; filename="audit-${filter.orgId}.${format}"` },
  };
};
