import type { Handler } from '../../generated/control-plane/operations';
import { bindingNotFound, findBinding, toBinding } from '../../src/connectors/bindings';

/** GET /connectors/bindings/{bindingId} — the reference (vaultPath), never the secret; another tenant's id is 404. */
export const getConnectorBinding: Handler<'getConnectorBinding'> = async (req, ctx) => {
  const row = await findBinding(ctx.deps.db, req.params.bindingId);
  if (!row) throw bindingNotFound();
  return { status: 200, body: toBinding(row) };
};
