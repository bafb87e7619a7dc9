/**
 * One MCP client session with one server, through the official SDK (`@modelcontextprotocol/sdk`
 * Client over StreamableHTTPClientTransport, or SSEClientTransport for `transport: sse`), every
 * request going through the guarded fetch (guarded-fetch.ts). A session is opened per gateway
 * operation and closed after it (the session is terminated with DELETE where the server keeps
 * one): nothing is shared between calls, tenants or replicas.
 *
 * Failures are classified here so the caller can apply the retry rule without looking at SDK
 * types: `transient` (HTTP 502/503/504, connection refused/reset), `timeout` (the request had no
 * answer in time: never retried, it used the call's budget), `rpc` (the server answered a
 * JSON-RPC error), or `failed` (any other HTTP status, a protocol violation). Guard refusals
 * (AppError POLICY_DENIED) pass through unchanged. Messages are built from codes only, never
 * from the server's answer text.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport, SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '../platform/errors';
import { FetchNetworkError } from './guarded-fetch';

export type McpTransportName = 'streamable_http' | 'sse';

export type McpFailureKind = 'transient' | 'timeout' | 'rpc' | 'failed';

export class McpFailure extends Error {
  constructor(
    readonly kind: McpFailureKind,
    /** A short code for logs and `details.reason` (e.g. `upstream_503`, `ECONNREFUSED`, `rpc_-32602`). */
    readonly reason: string,
    readonly upstreamStatus?: number,
  ) {
    super(`MCP ${kind}: ${reason}`);
    this.name = 'McpFailure';
  }
}

const TRANSIENT_STATUS = new Set([502, 503, 504]);
const TRANSIENT_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'socket hang up']);

/** Maps whatever the SDK or the fetch threw to an McpFailure (AppErrors pass through). */
export function classify(err: unknown, deadline?: AbortSignal): AppError | McpFailure {
  if (err instanceof AppError || err instanceof McpFailure) return err;
  if (deadline?.aborted) return new McpFailure('timeout', 'deadline');
  if (err instanceof McpError) {
    if (err.code === ErrorCode.RequestTimeout) return new McpFailure('timeout', 'request_timeout');
    if (err.code === ErrorCode.ConnectionClosed) return new McpFailure('transient', 'connection_closed');
    return new McpFailure('rpc', `rpc_${err.code}`);
  }
  const status = err instanceof StreamableHTTPError || err instanceof SseError ? err.code : undefined;
  if (typeof status === 'number') return new McpFailure(TRANSIENT_STATUS.has(status) ? 'transient' : 'failed', `upstream_${status}`, status);
  if (err instanceof FetchNetworkError) return new McpFailure(TRANSIENT_NET.has(err.reason) ? 'transient' : 'failed', err.reason);
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof AppError || cause instanceof FetchNetworkError) return classify(cause, deadline);
  return new McpFailure('failed', 'protocol_error');
}

export interface McpSession {
  serverInfo?: { name: string; version: string };
  listTools(opts: { timeoutMs: number; signal: AbortSignal }): Promise<Tool[]>;
  callTool(name: string, args: Record<string, unknown>, opts: { timeoutMs: number; signal: AbortSignal }): Promise<CallToolResult>;
  close(): Promise<void>;
}

const MAX_PAGES = 20;

/** Opens a session (initialize + initialized). Throws AppError or McpFailure. */
export async function openMcpSession(o: { url: string; transport: McpTransportName; fetch: FetchLike; timeoutMs: number; signal: AbortSignal }): Promise<McpSession> {
  const url = new URL(o.url);
  const transport = o.transport === 'sse'
    ? new SSEClientTransport(url, { fetch: o.fetch })
    : new StreamableHTTPClientTransport(url, {
      fetch: o.fetch,
      // A dropped stream is a failed attempt here; the retry rule decides what happens next.
      reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
    });
  const client = new Client({ name: 'agent-store-connector-gateway', version: '1.0.0' }, { capabilities: {} });
  // The SDK reports transport errors here too (they also reject the request): keep them quiet.
  client.onerror = () => undefined;
  const close = async () => {
    if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession().catch(() => undefined);
    await client.close().catch(() => undefined);
  };
  try {
    await client.connect(transport, { timeout: o.timeoutMs, signal: o.signal });
  } catch (err) {
    await close();
    throw classify(err, o.signal);
  }
  return {
    serverInfo: client.getServerVersion(),
    async listTools({ timeoutMs, signal }) {
      const tools: Tool[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        try {
          const r = await client.listTools(cursor ? { cursor } : undefined, { timeout: timeoutMs, signal });
          tools.push(...r.tools);
          cursor = r.nextCursor;
        } catch (err) {
          throw classify(err, signal);
        }
        if (!cursor) break;
      }
      return tools;
    },
    async callTool(name, args, { timeoutMs, signal }) {
      try {
        return (await client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs, signal })) as CallToolResult;
      } catch (err) {
        throw classify(err, signal);
      }
    },
    close,
  };
}

/** The retry rule's view of a tool: a read only when it says it is read-only and not destructive. */
export function mcpToolKind(tool: Pick<Tool, 'annotations'>): 'read' | 'write' {
  const a = tool.annotations;
  return a?.readOnlyHint === true && a.destructiveHint !== true ? 'read' : 'write';
}
