import type { Handler } from '../../generated/provisioner/operations';
import { AppError } from '../../src/platform/errors';
import { MappingError, parseOrderPayload } from '../../src/provisioner/order';

/**
 * POST /webhooks/saleor/order-fully-paid — verify the Saleor signature on the exact request
 * bytes (refusals store nothing), hold the order in the inbox, answer. The inbox worker delivers
 * it to the Control Plane afterwards, so Saleor's answer never waits for the Control Plane.
 */
export const receiveSaleorWebhook: Handler<'receiveSaleorWebhook'> = async (req, ctx) => {
  const verified = await ctx.deps.signature.verify({ ...req.headers }, ctx.rawBody);
  ctx.annotate({ saleorApiUrl: verified.apiUrl, signedWith: verified.method, ...(verified.jwsHeader ? { jwsHeader: verified.jwsHeader } : {}) });
  let order;
  try {
    order = parseOrderPayload(req.body);
  } catch (err) {
    if (err instanceof MappingError) throw new AppError('UNPROCESSABLE', err.message);
    throw err;
  }
  ctx.annotate({ orderId: order.id, payloadForm: order.form });
  let held;
  try {
    held = await ctx.deps.provisioner.inbox.receive({
      saleorApiUrl: verified.apiUrl,
      order,
      signedWith: verified.method,
      jwsHeader: verified.jwsHeader ?? null,
      requestId: ctx.requestId,
    });
  } catch (err) {
    // The inbox (database) is down: 5xx, so Saleor keeps the order and redelivers it.
    throw new AppError('DEPENDENCY_UNAVAILABLE', 'The order could not be recorded; Saleor will redeliver it', undefined, { cause: err });
  }
  if (!held.duplicate) ctx.deps.inboxWorker.kick();
  const { message, duplicate } = held;
  ctx.annotate({ inboxId: message.id, duplicate });
  return {
    status: 200,
    body: {
      inboxId: message.id,
      saleorApiUrl: message.saleorApiUrl,
      orderId: message.orderId,
      orderNumber: message.orderNumber,
      duplicate,
      status: message.status,
      receivedAt: message.receivedAt,
      lines: message.lines.map((l) => ({ lineId: l.lineId, idempotencyKey: l.idempotencyKey })),
    },
  };
};
