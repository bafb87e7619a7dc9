/**
 * Gateway → Connector Gateway: `createTicket` (`POST /v1/tickets`) through the Connector Gateway's
 * generated client on the service-client wrapper, with the gateway's service token. The
 * Connector Gateway holds the helpdesk credential and retries the helpdesk itself (the key makes
 * that safe); here one more attempt is made on a network error or timeout, with the same
 * `Idempotency-Key` (the hand-over's id), so a lost answer never makes a second ticket.
 * Its canonical errors pass through (429 RATE_LIMITED, 502, 503 VAULT_UNAVAILABLE, …); the
 * Connector Gateway unreachable → 503 DEPENDENCY_UNAVAILABLE.
 */
import type { TicketCreateRequest, TicketCreated } from '../../generated/connector-gateway/types';
import { Configuration, TicketsApi, type TicketCreateRequest as TicketCreateRequestModel } from '../../generated/clients/connector-gateway';
import type { TokenSource } from '../auth/token-source';
import { AppError } from '../platform/errors';
import { createServiceClient, model, type ClientConfig, type Operation, ServiceCallError } from '../platform/service-client';
import type { HttpClient } from '../platform/service-client/http-json';
import { passThrough } from './cp-client';

export interface TicketClient {
  create(body: TicketCreateRequest, o: { requestId: string; idempotencyKey: string; signal?: AbortSignal }): Promise<TicketCreated>;
}

const ticketsApi = (c: ClientConfig) => new TicketsApi(new Configuration(c));

export function createTicketClient(opts: { baseUrl: () => string; http: HttpClient; tokens: TokenSource }): TicketClient {
  const service = createServiceClient({ baseUrl: opts.baseUrl, http: opts.http, tokens: opts.tokens });
  return {
    async create(body, o) {
      // The helpdesk's own retries (up to 3 attempts, Retry-After ≤ 10 s) happen behind this call.
      const op: Operation = { operationId: 'createTicket', kind: 'write', idempotencyKey: o.idempotencyKey, credential: { kind: 'service' }, policy: { attempts: 2, baseDelayMs: 200, timeoutMs: 55_000, retryStatus: new Set() } };
      try {
        const res = await service.call(ticketsApi, (a) => a.createTicketRaw({ idempotencyKey: o.idempotencyKey, ticketCreateRequest: model<TicketCreateRequestModel>(body) }), op, { requestId: o.requestId, signal: o.signal });
        return res.body as TicketCreated;
      } catch (err) {
        if (!(err instanceof ServiceCallError)) throw err;
        if (err.code) throw passThrough(err);
        throw new AppError('DEPENDENCY_UNAVAILABLE', 'The connector gateway is unreachable', { dependency: 'connector-gateway' }, { status: 503, cause: err });
      }
    },
  };
}
