/**
 * The HTTP API a connector binding points at in the Newman run (the generic HTTP connector's
 * "Orders API"): `GET /orders/{id}` answers an order and echoes the Authorization header it saw
 * (the connector gateway must redact it), `/always503/...` answers 503 to every call, and
 * `GET /_hits?path=/x` says how many calls a path received, so a collection can prove a write tool
 * was called exactly once (T10) or not at all (T11).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamApi {
  url: string;
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startUpstreamApi(port = 0): Promise<UpstreamApi> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/_hits') return json(200, { path: url.searchParams.get('path'), hits: hits.get(url.searchParams.get('path') ?? '') ?? 0 });
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    req.resume();
    req.on('end', () => {
      if (url.pathname.startsWith('/always503/')) return json(503, { error: 'busy' });
      const order = /^\/orders\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
      if (order && req.method === 'GET') return json(200, { id: order[1], status: 'shipped', sawAuth: req.headers.authorization ?? null });
      json(404, { error: 'not found' });
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
