/**
 * The Provisioner's calls to the Control Plane, through the Control Plane's generated client
 * (generated/clients/control-plane) on the service-client wrapper: `receiveSaleorOrderPaid`
 * (`POST /integrations/saleor/order-paid`, with
 * `Idempotency-Key: saleor:<orderId>:<lineId>`, a service bearer token and the request's
 * X-Request-Id) and the public catalog lookup behind `<offeringSlug>:<planId>` SKUs.
 *
 * Retry policy (Provisioner → CP): 502/503/504 and network errors/timeouts are
 * retried 5 times after 1, 2, 4, 8 and 16 s (6 attempts in all). So are two answers that are
 * transient by definition: 409 IDEMPOTENCY_IN_PROGRESS (a duplicate delivery of the same line is
 * being applied right now; retrying replays its answer) and 429. A 401 drops the cached token and
 * is tried once more at once (the token expired or the key rotated). Every other answer is final —
 * in particular 409 IDEMPOTENCY_PAYLOAD_MISMATCH, 422 and other 4xx are never retried.
 * `sleep` is injectable so tests run the schedule instantly.
 */
import { CatalogApi, CommerceApi, Configuration } from '../../generated/clients/control-plane';
import type { OrderPaidRequest, OrderPaidResult } from '../../generated/control-plane/types';
import { createServiceClient, ServiceCallError, type ClientConfig } from '../platform/service-client';
import { type CatalogResolver, MappingError } from './order';
import { TokenEndpointError, type TokenSource } from '../auth/token-source';

export const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16000] as const;
const ATTEMPT_TIMEOUT_MS = 10_000;
const RETRYABLE_STATUS = new Set([502, 503, 504, 429]);

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** One attempt's outcome. */
export type AttemptOutcome =
  | { kind: 'accepted'; httpStatus: number; replayed: boolean; body: OrderPaidResult }
  | { kind: 'retryable' | 'final'; httpStatus: number | null; code: string; message: string };

export interface OrderPaidClient {
  orderPaid(request: OrderPaidRequest, opts: { idempotencyKey: string; requestId: string; signal?: AbortSignal }): Promise<AttemptOutcome>;
}

export interface OrderPaidClientOptions {
  /** The Control Plane's base URL (a function: in a test stack it is known only after listen). */
  baseUrl: () => string;
  tokens: TokenSource;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const commerceApi = (c: ClientConfig) => new CommerceApi(new Configuration(c));
const catalogApi = (c: ClientConfig) => new CatalogApi(new Configuration(c));
/** One attempt per call: the schedule above (deliverLine) owns the retries. */
const once = (timeoutMs: number) => ({ attempts: 1, baseDelayMs: 0, timeoutMs, retryStatus: new Set<number>() });

export function createOrderPaidClient(opts: OrderPaidClientOptions): OrderPaidClient {
  const timeoutMs = opts.timeoutMs ?? ATTEMPT_TIMEOUT_MS;
  const service = createServiceClient({ baseUrl: opts.baseUrl, fetch: opts.fetch, tokens: opts.tokens });

  return {
    async orderPaid(request, o) {
      try {
        const res = await service.call(
          commerceApi,
          (a) => a.receiveSaleorOrderPaidRaw({ orderPaidRequest: request, idempotencyKey: o.idempotencyKey }),
          { operationId: 'receiveSaleorOrderPaid', kind: 'write', idempotencyKey: o.idempotencyKey, credential: { kind: 'service' }, policy: once(timeoutMs) },
          { requestId: o.requestId, signal: o.signal },
        );
        if (!res.body) return { kind: 'final', httpStatus: res.status, code: 'INTERNAL', message: 'control plane answered without a JSON body' };
        return { kind: 'accepted', httpStatus: res.status, replayed: res.replayed, body: res.body as OrderPaidResult };
      } catch (err) {
        if (!(err instanceof ServiceCallError)) throw err;
        if (err.kind === 'credential') {
          const cause = err.cause as Error | undefined;
          return { kind: 'retryable', httpStatus: null, code: 'DEPENDENCY_UNAVAILABLE', message: `no service token: ${cause instanceof TokenEndpointError ? cause.message : String(cause?.message ?? cause)}` };
        }
        if (err.kind !== 'answer') {
          const timedOut = err.extra.transport === 'timeout';
          const message = timedOut ? `control plane did not answer within ${timeoutMs} ms` : `control plane unreachable: ${err.message}`;
          return { kind: 'retryable', httpStatus: null, code: timedOut ? 'DEPENDENCY_TIMEOUT' : 'CONTROL_PLANE_UNAVAILABLE', message };
        }
        const status = err.status ?? 0;
        const code = err.code ?? (status >= 500 ? 'CONTROL_PLANE_UNAVAILABLE' : 'UNPROCESSABLE');
        const message = err.code ? err.message.slice(0, 500) : `control plane answered ${status}`;
        const retryable = RETRYABLE_STATUS.has(status) || (status === 409 && code === 'IDEMPOTENCY_IN_PROGRESS');
        return { kind: retryable ? 'retryable' : 'final', httpStatus: status, code, message };
      }
    },
  };
}

/** The result of delivering one line (all its attempts). */
export interface Delivery {
  outcome: AttemptOutcome;
  /** The request that was sent (undefined when the line could not be mapped). */
  request?: OrderPaidRequest;
  /** Attempts made (mapping included). */
  attempts: number;
}

/**
 * Maps (when `request` is not known yet) and sends one line, retrying transient failures on the
 * RETRY_DELAYS_MS schedule. `delays: []` makes a single attempt (operator replays).
 * An aborted `signal` (client gone, server shutting down) stops the schedule early; the line is
 * then dead-lettered like an exhausted one.
 */
export async function deliverLine(input: {
  client: OrderPaidClient;
  request?: OrderPaidRequest;
  map: () => Promise<OrderPaidRequest>;
  idempotencyKey: string;
  requestId: string;
  sleep: Sleep;
  delays?: readonly number[];
  signal?: AbortSignal;
}): Promise<Delivery> {
  const delays = input.delays ?? RETRY_DELAYS_MS;
  let request = input.request;
  let attempts = 0;
  for (let i = 0; ; i++) {
    attempts++;
    let outcome: AttemptOutcome;
    try {
      request ??= await input.map();
      outcome = await input.client.orderPaid(request, { idempotencyKey: input.idempotencyKey, requestId: input.requestId, signal: input.signal });
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      outcome = { kind: err.transient ? 'retryable' : 'final', httpStatus: err.httpStatus, code: err.transient ? 'CONTROL_PLANE_UNAVAILABLE' : 'UNPROCESSABLE', message: err.message };
    }
    if (outcome.kind !== 'retryable' || i >= delays.length || input.signal?.aborted) return { outcome, request, attempts };
    await input.sleep(delays[i]!, input.signal);
    if (input.signal?.aborted) return { outcome, request, attempts };
  }
}

/**
 * `<offeringSlug>:<planId>` → the offering's published version, through the Control Plane's
 * public catalog (`GET /offerings?q=<slug>`, exact slug match, a few pages at most). Positive
 * answers are cached for a minute.
 */
export function createCatalogResolver(opts: { baseUrl: () => string; fetch?: typeof fetch; ttlMs?: number; now?: () => number; timeoutMs?: number }): CatalogResolver {
  const service = createServiceClient({ baseUrl: opts.baseUrl, fetch: opts.fetch });
  const ttlMs = opts.ttlMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { at: number; offering: CatalogOffering }>();

  interface CatalogOffering {
    slug: string;
    lifecycle?: string;
    publishedVersionId?: string | null;
    plans?: { id: string }[];
  }

  async function find(slug: string): Promise<CatalogOffering | undefined> {
    const hit = cache.get(slug);
    if (hit && now() - hit.at < ttlMs) return hit.offering;
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const qs = new URLSearchParams({ q: slug, limit: '200' });
      if (cursor) qs.set('cursor', cursor);
      let body: { items?: CatalogOffering[]; nextCursor?: string | null } | undefined;
      try {
        const res = await service.call(
          catalogApi,
          (a) => a.listOfferingsRaw({ q: slug, limit: 200, cursor }),
          { operationId: 'listOfferings', kind: 'read', credential: { kind: 'none' }, policy: once(opts.timeoutMs ?? 10_000) },
          {},
        );
        body = res.body as typeof body;
      } catch (err) {
        if (!(err instanceof ServiceCallError)) throw err;
        if (err.kind !== 'answer') throw new MappingError(`catalog unreachable while resolving "${slug}": ${err.message}`, true, null);
        const status = err.status ?? 0;
        throw new MappingError(`catalog answered ${status} while resolving "${slug}"`, [502, 503, 504, 429].includes(status), status);
      }
      const found = body?.items?.find((o) => o.slug === slug);
      if (found) {
        cache.set(slug, { at: now(), offering: found });
        return found;
      }
      if (!body?.nextCursor) return undefined;
      cursor = body.nextCursor;
    }
    return undefined;
  }

  return {
    async publishedVersion(slug, planId) {
      const offering = await find(slug);
      if (!offering) throw new MappingError(`No published offering with the slug "${slug}" in the catalog`);
      if (!offering.publishedVersionId) throw new MappingError(`The offering "${slug}" has no published version`);
      if (offering.plans?.length && !offering.plans.some((p) => p.id === planId)) {
        throw new MappingError(`The offering "${slug}" has no plan "${planId}"`);
      }
      return offering.publishedVersionId;
    },
  };
}
