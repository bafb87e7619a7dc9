import type { Handler } from '../../generated/control-plane/operations';
import { CONNECTOR_TYPES, connectorView } from '../../src/connectors/catalog';
import { pageArgs, toPage } from '../../src/tenancy/page';

/** GET /connectors — the connector types (public), with credential/settings fields and tools. */
export const listConnectors: Handler<'listConnectors'> = async (req) => {
  const { after, limit } = pageArgs(req.query);
  const sorted = [...CONNECTOR_TYPES].sort((a, b) => a.id.localeCompare(b.id)).filter((c) => after === null || c.id > after);
  return { status: 200, body: toPage(sorted.slice(0, limit + 1), limit, (c) => c.id, connectorView) };
};
