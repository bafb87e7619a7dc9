import type { Handler } from '../../generated/control-plane/operations';
import { authorSubject, catalogFor, createOffering as create } from '../../src/catalog';

/** POST /offerings — a new listing in `draft` (publisher-admin). */
export const createOffering: Handler<'createOffering'> = async (req, ctx) => {
  const offering = await create(catalogFor(ctx.deps), ctx.deps.db, req.body, authorSubject(ctx.caller));
  ctx.annotate({ offeringId: offering.id });
  return { status: 201, body: offering };
};
