/**
 * A local HTTP server speaking Vault's KV v2 API (enough for src/secrets/vault-kv-store.ts):
 * `POST|GET|DELETE /v1/{mount}/data/{path}`, `DELETE /v1/{mount}/metadata/{path}`,
 * `POST /v1/auth/approle/login`. Tokens via `X-Vault-Token`; `{"errors":[…]}` bodies; a sealed
 * switch (503 on everything), scripted 503s, and a delay for slow answers.
 * Sealing over HTTP as an operator does it (Vault API docs, website/content/api-docs/system/seal.mdx,
 * unseal.mdx, seal-status.mdx): `PUT /v1/sys/seal` (token required, 204), `PUT|POST /v1/sys/unseal`
 * with `{"key"}` (one key share here: t = n = 1) and `GET /v1/sys/seal-status` (unauthenticated),
 * the last two answering while sealed.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Versioned {
  versions: { data: Record<string, string> | null; deletion_time: string; created_time: string }[];
}

export interface FakeVault {
  url: string;
  rootToken: string;
  roleId: string;
  secretId: string;
  /** The single unseal key share accepted by `/v1/sys/unseal`. */
  unsealKey: string;
  /** Raw stored secrets by `{mount}/{path}`. */
  store: Map<string, Versioned>;
  requests: { method: string; path: string; token?: string; namespace?: string }[];
  sealed: boolean;
  /** The next N requests answer 503. */
  fail503: number;
  delayMs: number;
  leaseSeconds: number;
  logins: number;
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export async function startFakeVault(opts: { mount?: string; namespace?: string } = {}): Promise<FakeVault> {
  const mount = opts.mount ?? 'kv';
  const tokens = new Set<string>(['root-token-test']);
  const fake: FakeVault = {
    url: '',
    rootToken: 'root-token-test',
    roleId: 'role-123',
    secretId: 'secret-456',
    unsealKey: 'unseal-key-share-1',
    store: new Map(),
    requests: [],
    sealed: false,
    fail503: 0,
    delayMs: 0,
    leaseSeconds: 3600,
    logins: 0,
    close: async () => {},
  };
  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body?: unknown) => {
      if (body === undefined) {
        res.writeHead(status);
        res.end();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://x');
    const token = req.headers['x-vault-token'] as string | undefined;
    fake.requests.push({ method: req.method!, path: url.pathname, token, namespace: req.headers['x-vault-namespace'] as string | undefined });
    const body = await bodyOf(req).catch(() => undefined);
    if (fake.delayMs) await new Promise((r) => setTimeout(r, fake.delayMs));
    if (res.destroyed) return;
    const sealStatus = () => ({ type: 'shamir', initialized: true, sealed: fake.sealed, t: 1, n: 1, progress: 0, nonce: '', version: '1.17.0', migration: false, recovery_seal: false, storage_type: 'inmem' });
    if (url.pathname === '/v1/sys/seal-status' && req.method === 'GET') return send(200, sealStatus());
    if (url.pathname === '/v1/sys/unseal' && (req.method === 'PUT' || req.method === 'POST')) {
      if (body?.reset === true) return send(200, sealStatus());
      if (typeof body?.key !== 'string' || !body.key) return send(400, { errors: ['missing required \'key\' parameter'] });
      if (body.key !== fake.unsealKey) return send(400, { errors: ['Unseal failed, invalid key'] });
      fake.sealed = false;
      return send(200, sealStatus());
    }
    if (fake.sealed) return send(503, { errors: ['Vault is sealed'] });
    if (fake.fail503 > 0) {
      fake.fail503--;
      return send(503, { errors: ['service unavailable'] });
    }
    if (opts.namespace && req.headers['x-vault-namespace'] !== opts.namespace) return send(403, { errors: ['permission denied'] });
    if (url.pathname === '/v1/auth/approle/login' && req.method === 'POST') {
      if (body?.role_id !== fake.roleId || body?.secret_id !== fake.secretId) return send(400, { errors: ['invalid role or secret ID'] });
      fake.logins++;
      const t = `hvs.approle-${fake.logins}`;
      tokens.add(t);
      return send(200, { auth: { client_token: t, lease_duration: fake.leaseSeconds, renewable: true, policies: ['connectors'] } });
    }
    if (!token || !tokens.has(token)) return send(403, { errors: ['permission denied'] });
    if (url.pathname === '/v1/sys/seal' && (req.method === 'PUT' || req.method === 'POST')) {
      if (token !== fake.rootToken) return send(403, { errors: ['permission denied'] });
      fake.sealed = true;
      return send(204);
    }
    const m = /^\/v1\/([^/]+)\/(data|metadata)\/(.+)$/.exec(url.pathname);
    if (!m || m[1] !== mount) return send(404, { errors: [] });
    const key = `${m[1]}/${m[3]}`;
    const entry = fake.store.get(key);
    if (m[2] === 'metadata') {
      if (req.method === 'DELETE') {
        fake.store.delete(key);
        return send(204);
      }
      return send(405, { errors: ['unsupported'] });
    }
    if (req.method === 'POST' || req.method === 'PUT') {
      if (!body || typeof body.data !== 'object') return send(400, { errors: ['no data provided'] });
      const e = entry ?? { versions: [] };
      e.versions.push({ data: body.data, deletion_time: '', created_time: new Date().toISOString() });
      fake.store.set(key, e);
      return send(200, { data: { version: e.versions.length, created_time: new Date().toISOString(), deletion_time: '', destroyed: false } });
    }
    if (req.method === 'GET') {
      const cur = entry?.versions[entry.versions.length - 1];
      if (!entry || !cur) return send(404, { errors: [] });
      const metadata = { version: entry.versions.length, created_time: cur.created_time, deletion_time: cur.deletion_time, destroyed: false };
      if (cur.deletion_time) return send(404, { data: { data: null, metadata } });
      return send(200, { data: { data: cur.data, metadata } });
    }
    if (req.method === 'DELETE') {
      const cur = entry?.versions[entry.versions.length - 1];
      if (cur) {
        cur.deletion_time = new Date().toISOString();
        cur.data = null;
      }
      return send(204);
    }
    return send(405, { errors: ['unsupported'] });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return fake;
}
