/**
 * A local server speaking the Zendesk Support (Ticketing) API's ticket creation, for tests and for
 * trying a hand-over on `npm start`. Written from Zendesk's documentation:
 * - Create Ticket `POST /api/v2/tickets` (`.json` suffix accepted), body `{"ticket": {"subject",
 *   "comment": {"body"}, "requester": {"name","email"}, "tags": [...]}}`; `201 Created` with
 *   `Location` and `{"ticket": {"id", "url", "subject", "description", "status": "new", ...}}` —
 *   https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket and
 *   https://developer.zendesk.com/api-reference/introduction/requests/ (response format)
 * - API token authentication, `Authorization: Basic base64("{email}/token:{api_token}")`; anything
 *   else → `401` `{"error":"Couldn't authenticate you"}` —
 *   https://developer.zendesk.com/api-reference/introduction/security-and-authentication/
 * - a ticket without a comment body → `422` `{"error":"RecordInvalid","description":"Record validation errors",...}`
 * - Idempotency: `Idempotency-Key` + the same payload answers the first ticket again with
 *   `x-idempotency-lookup: hit` (`miss` the first time); the same key with another payload → `400`
 *   `{"error":"IdempotentRequestError",...}` —
 *   https://developer.zendesk.com/api-reference/ticketing/introduction/#idempotency
 * - Rate limits: `429 Too Many Requests` with `Retry-After` (seconds), plus `X-Rate-Limit` /
 *   `X-Rate-Limit-Remaining` on answers — https://developer.zendesk.com/api-reference/introduction/rate-limits/
 *
 * Faults for tests: `failNext(status, times, headers)` answers the next requests with that status.
 *
 * Run alone: `npx tsx test/support/zendesk-server.ts [port] [email] [apiToken]` (defaults 8090,
 * agent@acme.example, zendesk-dev-token) — then bind a `zendesk` connector with `apiBaseUrl`
 * `http://127.0.0.1:8090` (README "Capabilities at run time").
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ZendeskTicketRecord {
  id: number;
  subject: string;
  description: string;
  requester: { name?: string; email?: string } | null;
  tags: string[];
  idempotencyKey: string | null;
  created_at: string;
}

export interface ZendeskServer {
  url: string;
  /** Tickets created, oldest first. */
  tickets: ZendeskTicketRecord[];
  /** Every POST seen (including refused and replayed ones), with its status. */
  requests: { status: number; idempotencyKey: string | null; authorized: boolean }[];
  failNext(status: number, times?: number, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

export async function startZendeskServer(o: { email: string; apiToken: string; port?: number; host?: string }): Promise<ZendeskServer> {
  const tickets: ZendeskTicketRecord[] = [];
  const requests: ZendeskServer['requests'] = [];
  const faults: { status: number; headers: Record<string, string> }[] = [];
  const byKey = new Map<string, { payload: string; ticket: ZendeskTicketRecord }>();
  const expected = `Basic ${Buffer.from(`${o.email}/token:${o.apiToken}`).toString('base64')}`;
  let nextId = 35436;
  let base = '';

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-rate-limit': '700', 'x-rate-limit-remaining': '699', ...headers });
    res.end(JSON.stringify(body));
  };
  const view = (t: ZendeskTicketRecord) => ({
    id: t.id, url: `${base}/api/v2/tickets/${t.id}.json`, subject: t.subject, raw_subject: t.subject, description: t.description,
    status: 'new', type: null, priority: null, tags: t.tags, requester_id: t.requester ? 1000 + t.id : null, via: { channel: 'api' }, created_at: t.created_at, updated_at: t.created_at,
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || (path !== '/api/v2/tickets.json' && path !== '/api/v2/tickets')) return json(res, 404, { error: 'InvalidEndpoint', description: 'Not found' });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
    const authorized = req.headers.authorization === expected;
    const record = (status: number) => requests.push({ status, idempotencyKey: key, authorized });
    const fault = faults.shift();
    if (fault) {
      record(fault.status);
      return fault.status === 429 ? (res.writeHead(429, { 'content-type': 'text/plain', ...fault.headers }), res.end('Number of allowed API requests per minute exceeded')) : json(res, fault.status, { error: 'InternalError', description: 'Something went wrong' }, fault.headers);
    }
    if (!authorized) {
      record(401);
      return json(res, 401, { error: "Couldn't authenticate you" });
    }
    let body: { ticket?: { subject?: unknown; comment?: { body?: unknown }; requester?: { name?: string; email?: string }; tags?: unknown } };
    try {
      body = JSON.parse(raw);
    } catch {
      record(400);
      return json(res, 400, { error: 'Unprocessable Entity', description: 'Server could not parse JSON' });
    }
    if (key) {
      const seen = byKey.get(key);
      if (seen && seen.payload !== raw) {
        record(400);
        return json(res, 400, { error: 'IdempotentRequestError', description: 'Request parameters do not match the original request for this idempotency key' });
      }
      if (seen) {
        record(201);
        return json(res, 201, { ticket: view(seen.ticket) }, { location: `${base}/api/v2/tickets/${seen.ticket.id}.json`, 'x-idempotency-lookup': 'hit' });
      }
    }
    const t = body.ticket;
    if (!t || typeof t.comment?.body !== 'string' || !t.comment.body) {
      record(422);
      return json(res, 422, { error: 'RecordInvalid', description: 'Record validation errors', details: { base: [{ description: 'Description: cannot be blank', error: 'BlankValue' }] } });
    }
    const ticket: ZendeskTicketRecord = {
      id: nextId++,
      subject: typeof t.subject === 'string' ? t.subject : t.comment.body.slice(0, 80),
      description: t.comment.body,
      requester: t.requester ?? null,
      tags: Array.isArray(t.tags) ? t.tags.filter((x): x is string => typeof x === 'string') : [],
      idempotencyKey: key,
      created_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    tickets.push(ticket);
    if (key) byKey.set(key, { payload: raw, ticket });
    record(201);
    return json(res, 201, { ticket: view(ticket) }, { location: `${base}/api/v2/tickets/${ticket.id}.json`, ...(key ? { 'x-idempotency-lookup': 'miss' } : {}) });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => json(res, 500, { error: 'InternalError' }));
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', r));
  base = `http://${o.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    tickets,
    requests,
    failNext(status, times = 1, headers = {}) {
      for (let i = 0; i < times; i++) faults.push({ status, headers });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [port, email, token] = process.argv.slice(2);
  startZendeskServer({ port: Number(port ?? 8090), email: email ?? 'agent@acme.example', apiToken: token ?? 'zendesk-dev-token' }).then((s) => {
    process.stdout.write(`Zendesk-protocol server on ${s.url} (POST /api/v2/tickets.json)\n`);
    setInterval(() => {
      const t = s.tickets.at(-1);
      if (t && !(t as { shown?: boolean }).shown) {
        (t as { shown?: boolean }).shown = true;
        process.stdout.write(`ticket #${t.id}: ${t.subject}\n${t.description}\n\n`);
      }
    }, 500);
  });
}
