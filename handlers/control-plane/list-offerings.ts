import type { Handler } from '../../generated/control-plane/operations';
import { searchOfferings, AUTHORING_OPERATION } from '../../src/catalog';

/** GET /offerings — public catalog search (publisher admins also see unpublished offerings). */
export const listOfferings: Handler<'listOfferings'> = async (req, ctx) => ({
  status: 200,
  body: await searchOfferings(ctx.deps.db, req.query, { publisherAdmin: ctx.allows(AUTHORING_OPERATION) }),
});
