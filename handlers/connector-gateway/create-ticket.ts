import type { Handler } from '../../generated/connector-gateway/operations';
import { AppError } from '../../src/platform/errors';

/**
 * POST /v1/tickets — a helpdesk ticket with the binding's credential (src/connector-gateway/tickets.ts);
 * the Idempotency-Key goes to the helpdesk, which creates one ticket per key.
 */
export const createTicket: Handler<'createTicket'> = async (req, ctx) => {
  ctx.annotate({ instanceId: req.body.instanceId, bindingId: req.body.bindingId });
  const key = req.headers['idempotency-key'];
  if (!key) throw new AppError('VALIDATION_FAILED', 'Idempotency-Key is required', { errors: [{ path: '/headers/idempotency-key', message: 'is required' }] });
  return { status: 201, body: await ctx.deps.tickets.create(req.body, { requestId: ctx.requestId, idempotencyKey: key, signal: ctx.signal }) };
};
