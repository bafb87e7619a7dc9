/**
 * The Provisioner's business logic behind the handlers: apply a verified ORDER_FULLY_PAID order
 * (every line to the Control Plane, in parallel, each with its retry schedule; what does not go
 * through is dead-lettered), and replay a dead letter.
 *
 * Why a dead-lettered line still answers Saleor 200: Saleor redelivers on any non-2xx, and a
 * redelivery can do nothing the dead letter cannot (same key, same Control Plane), so a 5xx would
 * only start a retry storm against a Control Plane that is already struggling. The order is held
 * here, visible to operators (`GET /dead-letters`) and replayable. Only when the dead-letter
 * store itself fails does the webhook answer 5xx, so Saleor keeps the order.
 */
import type { OrderPaidResult } from '../../generated/control-plane/types';
import type { DeadLetter, WebhookLineResult, WebhookResult } from '../../generated/provisioner/types';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import { type ControlPlaneClient, deliverLine, type Delivery, RETRY_DELAYS_MS, type Sleep } from './cp-client';
import type { DeadLetterResolution, DeadLetterStore } from './dead-letters';
import { type CatalogResolver, idempotencyKeyFor, type LineSource, mapLine, type ParsedOrder } from './order';

export interface Provisioner {
  applyOrder(order: ParsedOrder, ctx: { saleorApiUrl: string; requestId: string; log: Logger; signal?: AbortSignal }): Promise<WebhookResult>;
  replay(id: string, ctx: { requestId: string; log: Logger; signal?: AbortSignal }): Promise<DeadLetter>;
  deadLetters: DeadLetterStore;
}

export interface ProvisionerOptions {
  client: ControlPlaneClient;
  deadLetters: DeadLetterStore;
  catalog?: CatalogResolver;
  sleep: Sleep;
  delays?: readonly number[];
}

function resolutionOf(httpStatus: number, replayed: boolean, body: OrderPaidResult): DeadLetterResolution {
  return {
    httpStatus,
    replayed,
    orgId: body.orgId ?? null,
    projectId: body.projectId ?? null,
    walletId: body.walletId ?? null,
    instanceId: body.instance?.id ?? null,
    ledgerEntryId: body.topup?.ledgerEntryId ?? null,
  };
}

export function createProvisioner(opts: ProvisionerOptions): Provisioner {
  const { client, deadLetters } = opts;
  const delays = opts.delays ?? RETRY_DELAYS_MS;

  async function applyLine(source: LineSource, ctx: { saleorApiUrl: string; requestId: string; log: Logger; signal?: AbortSignal }): Promise<WebhookLineResult> {
    const key = idempotencyKeyFor(source.order.id, source.line.id);
    const log = ctx.log.child({ orderId: source.order.id, lineId: source.line.id });
    const delivery: Delivery = await deliverLine({
      client,
      map: () => mapLine(source, opts.catalog),
      idempotencyKey: key,
      requestId: ctx.requestId,
      sleep: opts.sleep,
      delays,
      signal: ctx.signal,
    });
    const { outcome, request, attempts } = delivery;
    const base = { lineId: source.line.id, idempotencyKey: key, kind: request?.kind ?? null, attempts };
    if (outcome.kind === 'accepted') {
      // A line dead-lettered by an earlier delivery is resolved by this one.
      const resolved = await deadLetters.resolveLine(source.order.id, source.line.id, resolutionOf(outcome.httpStatus, outcome.replayed, outcome.body), attempts, request!);
      log.info({ kind: base.kind, attempts, replayed: outcome.replayed, deadLetterId: resolved?.id }, 'order line accepted by the control plane');
      return { ...base, outcome: 'accepted', cpStatus: outcome.httpStatus, replayed: outcome.replayed, deadLetterId: resolved?.id ?? null, deadLetterStatus: resolved ? 'replayed' : null };
    }
    const status = outcome.kind === 'retryable' ? 'pending' : 'failed';
    const dl = await deadLetters.record({
      orderId: source.order.id,
      lineId: source.line.id,
      orderNumber: source.order.number,
      idempotencyKey: key,
      saleorApiUrl: ctx.saleorApiUrl,
      request: request ?? null,
      source,
      status,
      error: { code: outcome.code, message: outcome.message, httpStatus: outcome.httpStatus },
      attempts,
      requestId: ctx.requestId,
    });
    log.warn({ kind: base.kind, attempts, status: dl.status, deadLetterId: dl.id, code: outcome.code, httpStatus: outcome.httpStatus }, 'order line dead-lettered');
    return { ...base, outcome: 'dead_lettered', cpStatus: outcome.httpStatus, replayed: false, deadLetterId: dl.id, deadLetterStatus: dl.status };
  }

  return {
    deadLetters,

    async applyOrder(order, ctx) {
      const header = { id: order.id, number: order.number, email: order.email, orgId: order.orgId, projectId: order.projectId };
      const lines = await Promise.all(order.lines.map((line) => applyLine({ order: header, line }, ctx)));
      return { orderId: order.id, orderNumber: order.number, lines };
    },

    async replay(id, ctx) {
      const dl = await deadLetters.get(id);
      if (!dl) throw new AppError('NOT_FOUND', 'Dead letter not found');
      if (dl.status === 'replayed') {
        throw new AppError('CONFLICT', 'This dead letter was already replayed', { deadLetterId: id, status: dl.status, replayedAt: dl.replayedAt });
      }
      const source = dl.source as LineSource;
      const { outcome, request, attempts } = await deliverLine({
        client,
        request: dl.request ?? undefined,
        map: () => mapLine(source, opts.catalog),
        idempotencyKey: dl.idempotencyKey,
        requestId: ctx.requestId,
        sleep: opts.sleep,
        delays: [],
        signal: ctx.signal,
      });
      const log = ctx.log.child({ deadLetterId: id, orderId: dl.orderId, lineId: dl.lineId });
      if (outcome.kind === 'accepted') {
        log.info({ replayed: outcome.replayed }, 'dead letter replayed');
        return deadLetters.afterReplay(id, { status: 'replayed', attempts, request: request!, resolution: resolutionOf(outcome.httpStatus, outcome.replayed, outcome.body) });
      }
      log.warn({ code: outcome.code, httpStatus: outcome.httpStatus }, 'dead letter replay did not go through');
      return deadLetters.afterReplay(id, {
        status: outcome.kind === 'retryable' ? 'pending' : 'failed',
        attempts,
        request: request ?? null,
        error: { code: outcome.code, message: outcome.message, httpStatus: outcome.httpStatus },
      });
    },
  };
}
