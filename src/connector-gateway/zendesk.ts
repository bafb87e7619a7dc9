/**
 * Zendesk Support (Ticketing API) — creating the ticket of a conversation handed over to a person.
 * Follows Zendesk's own documentation:
 * - Create Ticket: `POST /api/v2/tickets.json` with `{"ticket": {"subject", "comment": {"body"},
 *   "requester": {"name", "email"}, "tags": [...]}}`, answered `201 Created` with the ticket
 *   (`ticket.id`) — https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket
 * - API token authentication: HTTP Basic with `{email_address}/token:{api_token}` —
 *   https://developer.zendesk.com/api-reference/introduction/security-and-authentication/
 * - Rate limits: `429 Too Many Requests` with `Retry-After` (seconds to wait) —
 *   https://developer.zendesk.com/api-reference/introduction/rate-limits/
 * - Idempotency: an `Idempotency-Key` header on ticket creation makes a repeated request answer the
 *   ticket created first (`x-idempotency-lookup: hit`) instead of creating another —
 *   https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency
 *
 * The binding's credential (connector type `zendesk`: `email`, `apiToken`) is injected as the
 * connector catalog says (src/connectors/catalog.ts); a credential entered without the `/token`
 * suffix gets it, as Zendesk's API-token scheme requires.
 */
import { AppError } from '../platform/errors';
import type { SecretData } from '../secrets';

export interface ZendeskTicket {
  subject: string;
  body: string;
  requester?: { name?: string; email?: string };
  tags?: string[];
}

/** The API root of the binding: `https://<subdomain>.zendesk.com`, or its `apiBaseUrl` setting. */
export function zendeskBaseUrl(settings: Record<string, string | undefined> | undefined): string {
  const base = settings?.apiBaseUrl?.trim();
  if (base) return base.replace(/\/+$/, '');
  const sub = settings?.subdomain?.trim();
  if (!sub || !/^[a-z0-9][a-z0-9-]{0,62}$/i.test(sub)) {
    throw new AppError('POLICY_DENIED', 'The Zendesk binding has no valid subdomain', { reason: 'binding_settings' });
  }
  return `https://${sub}.zendesk.com`;
}

/** The Basic credential of Zendesk's API-token scheme: `{email}/token:{api_token}`. */
export function zendeskAuthorization(secret: SecretData): string {
  const email = secret.email;
  const token = secret.apiToken;
  if (typeof email !== 'string' || !email || typeof token !== 'string' || !token) {
    throw new AppError('POLICY_DENIED', 'The binding credential is incomplete', { reason: 'credential_incomplete' });
  }
  const user = email.endsWith('/token') ? email : `${email}/token`;
  return `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
}

/** The Create Ticket request body. */
export function zendeskTicketBody(t: ZendeskTicket): { ticket: Record<string, unknown> } {
  return {
    ticket: {
      subject: t.subject,
      comment: { body: t.body },
      ...(t.requester && (t.requester.email || t.requester.name) ? { requester: { ...(t.requester.name ? { name: t.requester.name } : {}), ...(t.requester.email ? { email: t.requester.email } : {}) } } : {}),
      ...(t.tags?.length ? { tags: t.tags } : {}),
    },
  };
}

/** The ticket id of a Create Ticket answer. */
export function zendeskTicketId(body: unknown): string | undefined {
  const id = (body as { ticket?: { id?: unknown } } | undefined)?.ticket?.id;
  return typeof id === 'number' || (typeof id === 'string' && id) ? String(id) : undefined;
}

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date); undefined when absent. */
export function retryAfterSeconds(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const n = Number(header);
  if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
