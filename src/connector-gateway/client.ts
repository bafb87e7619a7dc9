/**
 * The Runner's client of the Connector Gateway: the built-in runtime's ToolCall component calls
 * `POST {CONN_BASE}/v1/tools/invoke` with the Runner's service token and the run's instance and
 * run ids (MCP tools: `POST /v1/mcp/tools/call`). No retry here: the Connector Gateway owns the retry rule (read 3×, write never), so a
 * retry at this hop could repeat a write. Canonical errors are rethrown with their code; the
 * gateway unreachable is 503 DEPENDENCY_UNAVAILABLE. The answer is the tool's `output`.
 */
import type { McpToolCallResult } from '../../generated/connector-gateway/types';
import type { ErrorCode } from '../../generated/shared/types';
import type { TokenSource } from '../auth/token-source';
import { createHttpClient, TransportError, type HttpClient } from '../platform/service-client/http-json';
import { inSpan } from '../platform/tracing';
import { AppError, statusOf } from '../platform/errors';
import type { ToolCallContext, ToolInvoker } from '../runtime/types';

type Answer<T> = T & { error?: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

export function connectorGatewayToolInvoker(o: { baseUrl: () => string; tokens: TokenSource; http?: HttpClient; timeoutMs?: number }): ToolInvoker {
  const http = o.http ?? createHttpClient({ maxSockets: 32 });
  /** One POST with the service token (renewed once on 401); the 200 body, or the error rethrown. */
  async function post<T>(path: string, body: Record<string, unknown>, ctx: ToolCallContext, tool: string): Promise<T> {
    // A tool call is a span of the run's trace; its traceparent takes the connector gateway's spans along.
    return inSpan('runner', 'tool', { 'agentstore.tool': tool }, () => postOnce<T>(path, body, ctx, tool));
  }
  async function postOnce<T>(path: string, body: Record<string, unknown>, ctx: ToolCallContext, tool: string): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const token = await o.tokens.token();
      let res;
      try {
        res = await http.json<Answer<T>>('POST', `${o.baseUrl().replace(/\/+$/, '')}${path}`, {
          headers: { authorization: `Bearer ${token}`, ...(ctx.requestId ? { 'x-request-id': ctx.requestId } : {}) },
          body,
          // The gateway may spend 4 attempts of up to 15 s on a read tool.
          timeoutMs: o.timeoutMs ?? 65_000,
          signal: ctx.signal,
        });
      } catch (err) {
        if (err instanceof TransportError && err.kind === 'aborted') throw err;
        throw new AppError('DEPENDENCY_UNAVAILABLE', 'The Connector Gateway is unreachable', { tool }, { cause: err });
      }
      if (res.status === 200 && res.body) return res.body;
      if (res.status === 401 && attempt === 0) {
        o.tokens.invalidate();
        continue;
      }
      const e = res.body?.error;
      if (!e) throw new AppError('DEPENDENCY_UNAVAILABLE', `The Connector Gateway answered ${res.status}`, { tool });
      throw new AppError(e.code, e.message, e.details, { status: statusOf[e.code] ?? res.status });
    }
  }
  const runIdOf = (ctx: ToolCallContext) => (/^run_[A-Za-z0-9]{8,40}$/.test(ctx.scope.runId) ? { runId: ctx.scope.runId } : {});
  return {
    async invoke(tool, bindingId, input, ctx) {
      const r = await post<{ output?: Record<string, unknown> }>('/v1/tools/invoke', { instanceId: ctx.scope.instanceId, tool, bindingId, input, ...runIdOf(ctx) }, ctx, tool);
      return r.output ?? {};
    },
    async callMcp(server, tool, args, ctx) {
      const r = await post<McpToolCallResult>('/v1/mcp/tools/call', { instanceId: ctx.scope.instanceId, server, tool, arguments: args, runId: ctx.scope.runId }, ctx, tool);
      return { content: r.content, isError: r.isError, ...(r.structuredContent ? { structuredContent: r.structuredContent } : {}) };
    },
  };
}
