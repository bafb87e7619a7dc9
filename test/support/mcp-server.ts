/**
 * An MCP server for tests, built with the official SDK on the server side, served over HTTPS with
 * a throwaway self-signed certificate (MCP server URLs are https-only in the `mcp_tools` config).
 *
 * Follows the SDK's own server code and examples (modelcontextprotocol/typescript-sdk):
 * - `src/server/mcp.ts` (McpServer.registerTool with input schema and ToolAnnotations);
 * - `src/examples/server/simpleStreamableHttp.ts` (stateful Streamable HTTP: a
 *   StreamableHTTPServerTransport per session, created on `initialize`, found again by the
 *   `Mcp-Session-Id` header for POST/GET/DELETE);
 * - `src/examples/server/simpleSseServer.ts` (the deprecated HTTP+SSE transport: GET /sse opens
 *   the stream and announces the POST endpoint, POST /messages?sessionId=… carries requests);
 * and the protocol pages of the MCP specification 2025-06-18: basic/transports (Streamable HTTP,
 * session management, backwards compatibility with HTTP+SSE), server/tools (`tools/list`,
 * `tools/call`, `isError`, annotations `readOnlyHint`/`destructiveHint`), basic/authorization
 * (`Authorization: Bearer <token>` on every request).
 *
 * Test knobs: `failNext(method, count, status)` answers the next `count` POSTs carrying the
 * JSON-RPC `method` (and for `tools/call`, optionally only of one tool) with an HTTP error before
 * the SDK sees them, like a proxy in front of a busy server; `seen` records every request
 * (path, JSON-RPC method, tool, the Authorization header as received).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { generate } from 'selfsigned';
import { z } from 'zod';

export interface SeenRequest {
  httpMethod: string;
  path: string;
  rpcMethod?: string;
  tool?: string;
  authorization?: string;
}

export interface TestMcpServer {
  port: number;
  /** The certificate to trust (self-signed, valid for `hostnames`). */
  ca: string;
  seen: SeenRequest[];
  /** tools/call requests that reached a tool handler, by tool name. */
  executed: Record<string, number>;
  failNext(rpcMethod: string, count: number, status: number, tool?: string): void;
  calls(tool: string): number;
  close(): Promise<void>;
}

function buildServer(executed: Record<string, number>): McpServer {
  const server = new McpServer({ name: 'acme-crm', version: '2.3.0' });
  const ran = (name: string) => (executed[name] = (executed[name] ?? 0) + 1);
  server.registerTool('lookup_customer', {
    title: 'Look up a customer',
    description: 'Find a customer by e-mail.',
    inputSchema: { email: z.string() },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async ({ email }) => {
    ran('lookup_customer');
    return { content: [{ type: 'text', text: `Customer ${email}: plan Pro, since 2021` }], structuredContent: { email, plan: 'Pro' } };
  });
  server.registerTool('whoami', {
    description: 'Echoes the credential the server received (a careless server).',
    annotations: { readOnlyHint: true },
  }, async (extra) => {
    ran('whoami');
    return { content: [{ type: 'text', text: `you sent ${String(extra.requestInfo?.headers?.authorization ?? 'nothing')}` }] };
  });
  server.registerTool('update_deal', {
    description: 'Move a deal to a stage.',
    inputSchema: { dealId: z.string(), stage: z.string() },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  }, async ({ dealId, stage }) => {
    ran('update_deal');
    return { content: [{ type: 'text', text: `Deal ${dealId} moved to ${stage}` }] };
  });
  server.registerTool('delete_customer', {
    description: 'Delete a customer (no annotations: a write).',
    inputSchema: { email: z.string() },
  }, async ({ email }) => {
    ran('delete_customer');
    return { content: [{ type: 'text', text: `Deleted ${email}` }] };
  });
  server.registerTool('contradictory', {
    description: 'Claims to be read-only and destructive.',
    annotations: { readOnlyHint: true, destructiveHint: true },
  }, async () => {
    ran('contradictory');
    return { content: [{ type: 'text', text: 'done' }] };
  });
  server.registerTool('slow_report', {
    description: 'Answers after `ms` milliseconds.',
    inputSchema: { ms: z.number() },
    annotations: { readOnlyHint: true },
  }, async ({ ms }) => {
    ran('slow_report');
    await new Promise((r) => setTimeout(r, ms));
    return { content: [{ type: 'text', text: 'report ready' }] };
  });
  server.registerTool('broken', {
    description: 'Always fails as a tool (isError).',
    annotations: { readOnlyHint: true },
  }, async () => {
    ran('broken');
    throw new Error('the CRM is in maintenance');
  });
  return server;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      try {
        resolve(text ? JSON.parse(text) : undefined);
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

export async function startMcpServer(hostnames: string[]): Promise<TestMcpServer> {
  const pems = await generate([{ name: 'commonName', value: hostnames[0]! }], {
    keyType: 'ec',
    curve: 'P-256',
    extensions: [{ name: 'subjectAltName', altNames: hostnames.map((value) => ({ type: 2 as const, value })) }],
  });
  const seen: SeenRequest[] = [];
  const executed: Record<string, number> = {};
  const failures: { rpcMethod: string; tool?: string; status: number; left: number }[] = [];
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const sse = new Map<string, SSEServerTransport>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'https://mcp.test');
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    const message = body as { method?: string; params?: { name?: string } } | undefined;
    const entry: SeenRequest = { httpMethod: req.method!, path: url.pathname, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) };
    if (message?.method) entry.rpcMethod = message.method;
    if (message?.method === 'tools/call' && message.params?.name) entry.tool = message.params.name;
    seen.push(entry);
    const failure = failures.find((f) => f.left > 0 && f.rpcMethod === message?.method && (!f.tool || f.tool === entry.tool));
    if (failure) {
      failure.left -= 1;
      res.writeHead(failure.status, { 'content-type': 'text/plain' }).end('upstream busy');
      return;
    }

    if (url.pathname === '/mcp') {
      const sessionId = req.headers['mcp-session-id'];
      let transport = typeof sessionId === 'string' ? streamable.get(sessionId) : undefined;
      if (!transport) {
        if (req.method !== 'POST' || message?.method !== 'initialize') {
          res.writeHead(typeof sessionId === 'string' ? 404 : 400, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'No valid session' }, id: null }));
          return;
        }
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void streamable.set(id, created),
          onsessionclosed: (id) => void streamable.delete(id),
        });
        transport = created;
        await buildServer(executed).connect(created);
      }
      await transport.handleRequest(req, res, body);
      return;
    }
    if (url.pathname === '/sse' && req.method === 'GET') {
      const transport = new SSEServerTransport('/messages', res);
      sse.set(transport.sessionId, transport);
      res.on('close', () => sse.delete(transport.sessionId));
      await buildServer(executed).connect(transport);
      return;
    }
    if (url.pathname === '/messages' && req.method === 'POST') {
      const transport = sse.get(url.searchParams.get('sessionId') ?? '');
      if (!transport) {
        res.writeHead(404).end('unknown session');
        return;
      }
      await transport.handlePostMessage(req, res, body);
      return;
    }
    res.writeHead(404).end();
  }

  const server: Server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    ca: pems.cert,
    seen,
    executed,
    failNext(rpcMethod, count, status, tool) {
      failures.push({ rpcMethod, tool, status, left: count });
    },
    calls(tool) {
      return seen.filter((s) => s.rpcMethod === 'tools/call' && s.tool === tool).length;
    },
    async close() {
      for (const t of streamable.values()) await t.close().catch(() => undefined);
      for (const t of sse.values()) await t.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
