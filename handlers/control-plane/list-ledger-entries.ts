import type { Handler } from '../../generated/control-plane/operations';
import { catchUpJournal } from '../../src/money/usage-journal';
import { history } from '../../src/money/wallets';
import { wire } from '../../src/platform/http/wire';

/** GET /wallets/{walletId}/ledger — the wallet's history, newest first, for the workspace UI. */
export const listLedgerEntries: Handler<'listLedgerEntries'> = async (req, ctx) => {
  const q = req.query;
  await catchUpJournal(ctx.deps.db, { walletId: req.params.walletId }, { money: ctx.deps.money });
  const page = await history(ctx.deps.db, {
    walletId: req.params.walletId,
    limit: q.limit,
    cursor: q.cursor,
    kind: q.kind,
    creditType: q.creditType,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
  });
  return {
    status: 200,
    body: {
      items: page.items.map((e) => wire({
        id: e.id, walletId: e.walletId, kind: e.kind, creditType: e.creditType, amount: e.amount, balanceAfter: e.balanceAfter,
        reservationId: e.reservationId, runId: e.runId, reference: e.reference, createdAt: e.createdAt,
      })),
      nextCursor: page.nextCursor,
    },
  };
};
