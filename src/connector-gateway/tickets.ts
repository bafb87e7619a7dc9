/**
 * `createTicket` — a helpdesk ticket for a conversation handed over to a person (the
 * `human_handover` capability), with the binding's credential:
 * 1. the instance's entitlements (fail closed); active instance; the instance has `human_handover`;
 * 2. the binding must be the instance's (else 404), active (revoked → 403) and a `zendesk` binding;
 * 3. the helpdesk URL from the binding's settings; the SSRF guard (public addresses only unless
 *    the instance's `human_handover.allowPrivateNetworks`, an operator's setting), before the
 *    secret is read;
 * 4. the credential from the secret store (down → 503 VAULT_UNAVAILABLE, nothing sent);
 * 5. the call, with the caller's Idempotency-Key forwarded (Zendesk creates one ticket per key),
 *    so it is retried: up to 3 attempts on 5xx, connection errors and 429 (waiting Retry-After,
 *    at most 10 s); a 429 still → 429 RATE_LIMITED with Retry-After; 5xx → 502;
 * 6. one audit record per call (tool `zendesk.create_ticket`), never the credential; any echo of
 *    it in an error is never returned (only the status is).
 */
import type { Entitlements } from '../../generated/control-plane/types';
import type { TicketCreateRequest, TicketCreated } from '../../generated/connector-gateway/types';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import { bindingSecretPath, SecretMissingError, vaultUnavailable, type SecretData } from '../secrets';
import { executeHttp, policyDenied, UpstreamNetworkError, UpstreamTimeout, type HttpResult } from './http-connector';
import { auditCall, type ToolCallRecord, type ToolServiceOptions } from './tools';
import { retryAfterSeconds, zendeskAuthorization, zendeskBaseUrl, zendeskTicketBody, zendeskTicketId } from './zendesk';

const ATTEMPTS = 3;
const MAX_RETRY_AFTER_S = 10;
const TIMEOUT_MS = 15_000;
const TOOL = 'zendesk.create_ticket';

export class TicketService {
  constructor(private readonly o: ToolServiceOptions) {}

  async create(req: TicketCreateRequest, ctx: { requestId: string; idempotencyKey: string; signal?: AbortSignal }): Promise<TicketCreated> {
    const started = Date.now();
    const ent = await this.o.entitlements(req.instanceId, ctx.requestId);
    const record: ToolCallRecord = {
      auditEventId: newId('evt'), requestId: ctx.requestId, orgId: ent.orgId, projectId: ent.projectId, instanceId: ent.instanceId,
      ...(req.runId ? { runId: req.runId } : {}), tool: TOOL, bindingId: req.bindingId, kind: 'write', method: 'POST', outcome: 'error', attempts: 0, durationMs: 0,
    };
    try {
      const out = await this.run(req, ctx, ent, record);
      record.outcome = 'ok';
      await auditCall(this.o, record, started);
      return { ...out, auditEventId: record.auditEventId };
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('INTERNAL', 'Unexpected error', undefined, { cause: err });
      record.errorCode = e.code;
      record.outcome = e.code === 'POLICY_DENIED' || e.code === 'NOT_FOUND' || e.code === 'NOT_ENTITLED' ? 'denied' : e.code === 'VAULT_UNAVAILABLE' ? 'vault_unavailable' : e.code === 'DEPENDENCY_TIMEOUT' ? 'timeout' : 'upstream_error';
      await auditCall(this.o, record, started);
      throw e;
    }
  }

  private async run(req: TicketCreateRequest, ctx: { requestId: string; idempotencyKey: string; signal?: AbortSignal }, ent: Entitlements, record: ToolCallRecord): Promise<Omit<TicketCreated, 'auditEventId'>> {
    if (ent.state !== 'active') throw new AppError('NOT_ENTITLED', `The instance is ${ent.state}; tickets need an active instance`, { state: ent.state });
    if (!ent.capabilities.includes('human_handover')) throw new AppError('NOT_ENTITLED', 'This instance has no human handover', { instanceId: ent.instanceId });
    const binding = ent.bindings.find((b) => b.bindingId === req.bindingId);
    if (!binding) throw new AppError('NOT_FOUND', 'Connector binding not found');
    record.connectorId = binding.connectorId;
    if (binding.status !== 'active') throw policyDenied('The connector binding is revoked', { bindingId: req.bindingId, reason: 'binding_revoked' });
    if (binding.connectorId !== req.provider) throw policyDenied(`Tickets for ${req.provider} need a ${req.provider} binding`, { bindingId: req.bindingId, reason: 'connector_mismatch' });

    const url = `${zendeskBaseUrl(binding.settings)}/api/v2/tickets.json`;
    let host: string;
    try {
      host = new URL(url).hostname;
    } catch {
      throw policyDenied('The Zendesk binding has no valid API URL', { reason: 'binding_settings' });
    }
    record.host = host;
    const handover = (ent.config as Record<string, Record<string, unknown>>).human_handover ?? {};
    const allowPrivateNetworks = handover.allowPrivateNetworks === true;
    // The binding names the helpdesk: its host is the one the call may reach (checked per hop and per address).
    const allowedHosts = [host];

    let secret: SecretData;
    try {
      secret = (await this.o.secrets.get(bindingSecretPath(ent.orgId, ent.projectId, req.bindingId))).data;
    } catch (err) {
      if (err instanceof SecretMissingError) throw policyDenied('The connector binding has no usable credential (revoked)', { bindingId: req.bindingId, reason: 'binding_revoked' });
      throw vaultUnavailable({ bindingId: req.bindingId }, err);
    }
    const credentialHeaders = { authorization: zendeskAuthorization(secret) };
    const headers = { 'idempotency-key': ctx.idempotencyKey, 'x-request-id': ctx.requestId };
    const body = zendeskTicketBody(req);
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const backoff = this.o.backoffMs ?? ((n: number) => 200 * 2 ** (n - 1));

    let last: HttpResult | undefined;
    let lastErr: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      record.attempts = attempt;
      try {
        last = await executeHttp({ method: 'POST', url, headers, credentialHeaders, body, timeoutMs: TIMEOUT_MS, allowedHosts, allowPrivateNetworks, resolver: this.o.resolver, dial: this.o.dial, signal: ctx.signal });
        lastErr = undefined;
        record.status = last.status;
      } catch (err) {
        if (err instanceof AppError) throw err;
        lastErr = err;
        last = undefined;
        if (err instanceof UpstreamTimeout) break;
      }
      if (attempt === ATTEMPTS) break;
      if (last && last.status === 429) {
        const wait = retryAfterSeconds(last.headers['retry-after']) ?? 1;
        if (wait > MAX_RETRY_AFTER_S) break;
        await sleep(wait * 1000);
        continue;
      }
      if (last && last.status < 500) break;
      await sleep(backoff(attempt));
    }
    if (lastErr instanceof UpstreamTimeout) throw new AppError('DEPENDENCY_TIMEOUT', `The helpdesk did not answer within ${TIMEOUT_MS} ms`, { provider: req.provider, attempts: record.attempts });
    if (lastErr || !last) {
      const reason = lastErr instanceof UpstreamNetworkError ? lastErr.message : 'unreachable';
      throw new AppError('DEPENDENCY_UNAVAILABLE', 'The helpdesk could not be reached', { provider: req.provider, attempts: record.attempts, reason }, { status: 502 });
    }
    if (last.status === 429) {
      const wait = retryAfterSeconds(last.headers['retry-after']) ?? 60;
      throw new AppError('RATE_LIMITED', 'The helpdesk is rate limiting ticket creation', { provider: req.provider, attempts: record.attempts, retryAfterSeconds: wait }, { headers: { 'Retry-After': String(wait) } });
    }
    if (last.status === 401 || last.status === 403) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', `The helpdesk refused the binding's credential (${last.status})`, { provider: req.provider, attempts: record.attempts, upstreamStatus: last.status, reason: 'credential_rejected' }, { status: 502 });
    }
    if (last.status !== 201 && last.status !== 200) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', `The helpdesk answered ${last.status}`, { provider: req.provider, attempts: record.attempts, upstreamStatus: last.status }, { status: 502 });
    }
    const ticketRef = zendeskTicketId(last.body);
    if (!ticketRef) throw new AppError('DEPENDENCY_UNAVAILABLE', 'The helpdesk answered without a ticket id', { provider: req.provider, attempts: record.attempts, upstreamStatus: last.status }, { status: 502 });
    return { provider: req.provider, bindingId: req.bindingId, ticketRef, attempts: record.attempts };
  }
}
