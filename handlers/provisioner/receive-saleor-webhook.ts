import type { Handler } from '../../generated/provisioner/operations';
import { AppError } from '../../src/platform/errors';
import { MappingError, parseOrderPayload } from '../../src/provisioner/order';

/**
 * POST /webhooks/saleor/order-fully-paid — verify the Saleor signature on the exact request
 * bytes (refusals store and forward nothing), then apply every order line through the Control
 * Plane; lines that do not go through are dead-lettered and the answer is still 200.
 */
export const receiveSaleorWebhook: Handler<'receiveSaleorWebhook'> = async (req, ctx) => {
  const verified = await ctx.deps.signature.verify({ ...req.headers }, ctx.rawBody);
  ctx.annotate({ saleorOrigin: verified.origin, signedWith: verified.method });
  let order;
  try {
    order = parseOrderPayload(req.body);
  } catch (err) {
    if (err instanceof MappingError) throw new AppError('UNPROCESSABLE', err.message);
    throw err;
  }
  ctx.annotate({ orderId: order.id, payloadForm: order.form });
  try {
    const body = await ctx.deps.provisioner.applyOrder(order, { saleorApiUrl: verified.apiUrl, requestId: ctx.requestId, log: ctx.log, signal: ctx.signal });
    return { status: 200, body };
  } catch (err) {
    if (err instanceof AppError) throw err;
    // The dead-letter store is down: answer 5xx so Saleor keeps the order and redelivers it.
    throw new AppError('DEPENDENCY_UNAVAILABLE', 'The order could not be recorded; Saleor will redeliver it', undefined, { cause: err });
  }
};
