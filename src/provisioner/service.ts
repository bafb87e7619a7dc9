/**
 * The Provisioner's business logic behind the handlers and the inbox worker: one delivery round
 * of a held order (every line not settled yet gets one Control Plane call, in parallel), and the
 * operator's replay of a dead letter.
 *
 * Why the webhook never waits for the Control Plane: Saleor waits 2 s to connect and 18 s (10 s
 * before 3.20) for an answer, retries 5xx and timeouts at most 5 times 10·2ⁿ s apart, and never
 * retries a 4xx. Retrying the Control Plane inside the request (up to ~31 s) outlived that
 * timeout, so Saleor redelivered while we still worked, and an order behind a longer outage was
 * lost for good. Now the verified webhook is written to the inbox and answered at once; rounds run
 * from the inbox on their own schedule, as long as it takes.
 *
 * Round schedule, per order: after round n the next one is due `delays[n]` later (1, 2, 4, 8,
 * 16 s, then doubling up to `maxDelayMs`). A line that is still refused for a transient reason
 * after `RETRY_DELAYS_MS.length + 1` calls is recorded as a `pending` dead letter (operators see
 * it, and may replay it) while the rounds go on; when the Control Plane takes it later, that dead
 * letter is resolved. A line refused for good (4xx, not mappable) is a `failed` dead letter at
 * once. After `retryHorizonMs` since the webhook arrived the inbox stops; the pending dead letter
 * stays for an operator. Nothing is applied twice: every call carries the line's key
 * `saleor:<instance tag>:<orderId>:<lineId>`, and the Control Plane answers a repeated key with
 * its first answer.
 */
import type { OrderPaidResult } from '../../generated/control-plane/types';
import type { DeadLetter } from '../../generated/provisioner/types';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import { type AttemptOutcome, type OrderPaidClient, deliverLine, RETRY_DELAYS_MS } from './order-paid-client';
import type { DeadLetterResolution, DeadLetterStore } from './dead-letters';
import { emptyLine, type InboxError, type InboxRecord, type InboxStatus, type InboxStore, type LineState } from './inbox';
import { type CatalogResolver, idempotencyKeyFor, type LineSource, mapLine } from './order';

export interface RoundResult {
  status: InboxStatus;
  lines: Record<string, LineState>;
  nextAttemptAt: Date;
  lastError: InboxError | null;
}

export interface Provisioner {
  /** One delivery round of a held order; what the inbox records afterwards. */
  deliverRound(record: InboxRecord, ctx: { log: Logger; signal?: AbortSignal }): Promise<RoundResult>;
  replay(id: string, ctx: { requestId: string; log: Logger; signal?: AbortSignal }): Promise<DeadLetter>;
  deadLetters: DeadLetterStore;
  inbox: InboxStore;
}

export interface DeliverySchedule {
  /** Delay after round n (ms); past the end, the last one doubles up to `maxDelayMs`. */
  delaysMs: readonly number[];
  maxDelayMs: number;
  /** Rounds stop this long after the webhook arrived. */
  retryHorizonMs: number;
  /** Calls after which a still-refused line is recorded as a pending dead letter. */
  deadLetterAfterAttempts: number;
}

export const DEFAULT_SCHEDULE: DeliverySchedule = {
  delaysMs: RETRY_DELAYS_MS,
  maxDelayMs: 300_000,
  retryHorizonMs: 72 * 3600_000,
  deadLetterAfterAttempts: RETRY_DELAYS_MS.length + 1,
};

export interface ProvisionerOptions {
  client: OrderPaidClient;
  deadLetters: DeadLetterStore;
  inbox: InboxStore;
  catalog?: CatalogResolver;
  schedule?: Partial<DeliverySchedule>;
  now?: () => Date;
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

/** The delay after round `round` (1-based). */
export function delayAfter(round: number, s: DeliverySchedule): number {
  const { delaysMs, maxDelayMs } = s;
  if (round <= delaysMs.length) return Math.min(delaysMs[round - 1]!, maxDelayMs);
  const last = delaysMs.at(-1) ?? 1000;
  return Math.min(last * 2 ** (round - delaysMs.length), maxDelayMs);
}

const errorOf = (o: Exclude<AttemptOutcome, { kind: 'accepted' }>): InboxError => ({ code: o.code, message: o.message, httpStatus: o.httpStatus });

export function createProvisioner(opts: ProvisionerOptions): Provisioner {
  const { client, deadLetters, inbox } = opts;
  const schedule: DeliverySchedule = { ...DEFAULT_SCHEDULE, ...opts.schedule };
  const now = opts.now ?? (() => new Date());

  /** One call for one line; the line's next state (dead letters written as needed). */
  async function attemptLine(record: InboxRecord, source: LineSource, state: LineState, ctx: { log: Logger; signal?: AbortSignal; giveUp: boolean }): Promise<{ state: LineState; error?: InboxError }> {
    const { saleorApiUrl } = record;
    const key = idempotencyKeyFor(saleorApiUrl, source.order.id, source.line.id);
    const log = ctx.log.child({ orderId: source.order.id, lineId: source.line.id });
    const { outcome, request } = await deliverLine({
      client,
      map: () => mapLine(source, saleorApiUrl, opts.catalog),
      idempotencyKey: key,
      requestId: record.requestId ?? record.id,
      sleep: async () => {},
      delays: [],
      signal: ctx.signal,
    });
    const attempts = state.attempts + 1;
    const kind = request?.kind ?? state.kind;
    if (outcome.kind === 'accepted') {
      // A line dead-lettered by an earlier round is resolved by this one.
      const resolved = state.deadLetterId
        ? await deadLetters.resolveLine(saleorApiUrl, source.order.id, source.line.id, resolutionOf(outcome.httpStatus, outcome.replayed, outcome.body), attempts - state.recordedAttempts, request!)
        : undefined;
      log.info({ kind, attempts, replayed: outcome.replayed, deadLetterId: resolved?.id }, 'order line accepted by the control plane');
      return {
        state: {
          outcome: 'accepted', kind, attempts, cpStatus: outcome.httpStatus, replayed: outcome.replayed,
          deadLetterId: state.deadLetterId, deadLetterStatus: resolved ? 'replayed' : state.deadLetterStatus, recordedAttempts: resolved ? attempts : state.recordedAttempts,
        },
      };
    }
    const error = errorOf(outcome);
    const next: LineState = { ...state, kind, attempts, cpStatus: outcome.httpStatus };
    const final = outcome.kind === 'final';
    if (ctx.signal?.aborted && !final) return { state, error }; // shutting down: the interrupted call is not counted against the line
    if (final || ctx.giveUp || attempts >= schedule.deadLetterAfterAttempts) {
      // First time past the schedule, a final refusal, or the horizon: the dead letter is
      // written (or brought up to date); later rounds of a still-pending line leave it alone.
      if (final || ctx.giveUp || !state.deadLetterId) {
        const dl = await deadLetters.record({
          orderId: source.order.id,
          lineId: source.line.id,
          orderNumber: source.order.number,
          idempotencyKey: key,
          saleorApiUrl,
          request: request ?? null,
          source,
          status: final ? 'failed' : 'pending',
          error,
          attempts: attempts - state.recordedAttempts,
          requestId: record.requestId ?? record.id,
        });
        next.deadLetterId = dl.id;
        next.deadLetterStatus = dl.status;
        next.recordedAttempts = attempts;
        log.warn({ kind, attempts, status: dl.status, deadLetterId: dl.id, code: error.code, httpStatus: error.httpStatus }, 'order line dead-lettered');
      }
      if (final || ctx.giveUp) next.outcome = 'dead_lettered';
    }
    return { state: next, error };
  }

  return {
    deadLetters,
    inbox,

    async deliverRound(record, ctx) {
      const { order } = record;
      const header = { id: order.id, number: order.number, email: order.email, orgId: order.orgId, projectId: order.projectId };
      const giveUp = now().getTime() - record.receivedAt.getTime() >= schedule.retryHorizonMs;
      const lines: Record<string, LineState> = { ...record.lines };
      let lastError: InboxError | null = null;
      await Promise.all(
        order.lines.map(async (line) => {
          const state = lines[line.id] ?? emptyLine();
          if (state.outcome !== 'pending') return;
          const r = await attemptLine(record, { order: header, line }, state, { ...ctx, giveUp });
          lines[line.id] = r.state;
          if (r.error) lastError = r.error;
        }),
      );
      const states = order.lines.map((l) => lines[l.id] ?? emptyLine());
      const status: InboxStatus = states.some((s) => s.outcome === 'pending') ? 'queued' : states.every((s) => s.outcome === 'accepted') ? 'delivered' : 'dead_lettered';
      // An interrupted round (shutdown) is due again at once, elsewhere or after the restart.
      const delay = ctx.signal?.aborted ? 0 : delayAfter(record.attempts, schedule);
      return { status, lines, nextAttemptAt: new Date(now().getTime() + delay), lastError };
    },

    async replay(id, ctx) {
      const dl = await deadLetters.get(id);
      if (!dl) throw new AppError('NOT_FOUND', 'Dead letter not found');
      if (dl.status === 'replayed') {
        throw new AppError('CONFLICT', 'This dead letter was already replayed', { deadLetterId: id, status: dl.status, replayedAt: dl.replayedAt });
      }
      if (!dl.saleorApiUrl) {
        throw new AppError('UNPROCESSABLE', 'This dead letter does not name its Saleor instance and cannot be replayed', { deadLetterId: id });
      }
      const source = dl.source as LineSource;
      const saleorApiUrl = dl.saleorApiUrl;
      const { outcome, request, attempts } = await deliverLine({
        client,
        request: (dl.request as Parameters<typeof deliverLine>[0]['request']) ?? undefined,
        map: () => mapLine(source, saleorApiUrl, opts.catalog),
        idempotencyKey: idempotencyKeyFor(saleorApiUrl, dl.orderId, dl.lineId),
        requestId: ctx.requestId,
        sleep: async () => {},
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
