/**
 * Test doubles for the Provisioner's neighbours, over real HTTP (node:http):
 * - a fake Control Plane answering `POST /integrations/saleor/order-paid` with the real
 *   idempotency semantics (first answer 201, same key + same body → the replay with
 *   `Idempotent-Replayed: true`, same key + another body → 409 IDEMPOTENCY_PAYLOAD_MISMATCH),
 *   a public `GET /offerings` catalog, and scripted failures (`failNext`, `down`);
 * - a fake Saleor serving its JWKS at `/.well-known/jwks.json` and answering the app SDK's
 *   `{ app { id } }` on `/graphql/` for the app tokens it issued (Saleor answers a token it does
 *   not know with a GraphQL error and no data).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONWebKeySet } from 'jose';

export interface FakeCpCall {
  method: string;
  path: string;
  idempotencyKey?: string;
  requestId?: string;
  authorization?: string;
  body: any;
}

export interface FakeControlPlane {
  url: string;
  calls: FakeCpCall[];
  /** order-paid calls only */
  orderPaidCalls(): FakeCpCall[];
  /** The next order-paid calls answer these statuses (then normal behaviour resumes). */
  failNext(...statuses: (number | { status: number; code: string })[]): void;
  /** While true every order-paid call has its connection dropped (a network error). */
  down: boolean;
  offerings: { slug: string; publishedVersionId: string | null; lifecycle: string; plans: { id: string }[] }[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

export async function startFakeControlPlane(): Promise<FakeControlPlane> {
  const answered = new Map<string, { body: string; status: number; answer: unknown }>();
  const failures: { status: number; code: string }[] = [];
  let seq = 0;
  const fake: Omit<FakeControlPlane, 'url'> & { url: string } = {
    url: '',
    calls: [],
    orderPaidCalls: () => fake.calls.filter((c) => c.path === '/integrations/saleor/order-paid'),
    failNext: (...statuses) => {
      for (const s of statuses) failures.push(typeof s === 'number' ? { status: s, code: s >= 500 ? 'CONTROL_PLANE_UNAVAILABLE' : 'CONFLICT' } : s);
    },
    down: false,
    offerings: [],
    close: async () => close(server),
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await readBody(req);
    const call: FakeCpCall = {
      method: req.method ?? 'GET',
      path: url.pathname,
      idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      requestId: req.headers['x-request-id'] as string | undefined,
      authorization: req.headers.authorization,
      body,
    };
    fake.calls.push(call);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (req.method === 'GET' && url.pathname === '/offerings') {
      const q = url.searchParams.get('q') ?? '';
      return send(200, { items: fake.offerings.filter((o) => o.slug.includes(q)), nextCursor: null });
    }
    if (req.method !== 'POST' || url.pathname !== '/integrations/saleor/order-paid') return send(404, { error: { code: 'NOT_FOUND', message: 'no route', traceId: 'x' } });
    if (fake.down) {
      req.socket.destroy();
      return;
    }
    const failure = failures.shift();
    if (failure) return send(failure.status, { error: { code: failure.code, message: `scripted ${failure.status}`, traceId: call.requestId ?? 'x' } });
    const key = call.idempotencyKey ?? '';
    const canonical = JSON.stringify(body);
    const first = answered.get(key);
    if (first) {
      if (first.body !== canonical) {
        return send(409, { error: { code: 'IDEMPOTENCY_PAYLOAD_MISMATCH', message: 'This Idempotency-Key was used with a different payload', traceId: call.requestId ?? 'x' } });
      }
      return send(first.status, first.answer, { 'idempotent-replayed': 'true' });
    }
    seq++;
    const answer = {
      orderId: body.orderId,
      lineId: body.lineId,
      kind: body.kind,
      orgId: 'org_FAKE00000000',
      projectId: 'prj_FAKE00000000',
      walletId: 'wal_FAKE00000000',
      workspaceCreated: seq === 1,
      ...(body.kind === 'instance' ? { instance: { id: `inst_FAKE${String(seq).padStart(8, '0')}` } } : { topup: { ledgerEntryId: `led_FAKE${String(seq).padStart(8, '0')}` } }),
    };
    answered.set(key, { body: canonical, status: 201, answer });
    send(201, answer, { 'idempotent-replayed': 'false' });
  });
  fake.url = await listen(server);
  return fake;
}

export interface FakeSaleor {
  url: string;
  apiUrl: string;
  jwks: JSONWebKeySet;
  jwksFetches: number;
  /** App tokens this Saleor issued → the app's id. */
  appTokens: Map<string, string>;
  /** Authorization headers of the GraphQL calls received. */
  graphqlAuth: (string | undefined)[];
  close(): Promise<void>;
}

/** Serves `jwks` at `/.well-known/jwks.json`; its API URL is `<url>/graphql/`. */
export async function startFakeSaleor(jwks: JSONWebKeySet): Promise<FakeSaleor> {
  const fake: FakeSaleor = { url: '', apiUrl: '', jwks, jwksFetches: 0, appTokens: new Map(), graphqlAuth: [], close: async () => close(server) };
  const server = createServer(async (req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      fake.jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(fake.jwks));
      return;
    }
    if (req.url === '/graphql/' && req.method === 'POST') {
      const body = await readBody(req);
      fake.graphqlAuth.push(req.headers.authorization);
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const appId = token ? fake.appTokens.get(token) : undefined;
      res.writeHead(200, { 'content-type': 'application/json' });
      if (!/\{\s*app\s*\{\s*id\s*\}\s*\}/.test(String(body?.query))) return res.end(JSON.stringify({ errors: [{ message: 'unexpected query' }] }));
      if (!appId) return res.end(JSON.stringify({ data: null, errors: [{ message: 'Invalid token.', extensions: { exception: { code: 'InvalidTokenError' } } }] }));
      return res.end(JSON.stringify({ data: { app: { id: appId } } }));
    }
    res.writeHead(404).end();
  });
  fake.url = await listen(server);
  fake.apiUrl = `${fake.url}/graphql/`;
  return fake;
}
