import type { Handler } from '../../generated/control-plane/operations';
import { listCapabilities as list } from '../../src/capabilities/catalog';

/** GET /capabilities — the registry's entries (without configSchema), filtered by layer, paged. Public. */
export const listCapabilities: Handler<'listCapabilities'> = async (req) => ({
  status: 200,
  body: list({ layer: req.query.layer, cursor: req.query.cursor, limit: req.query.limit }),
});
