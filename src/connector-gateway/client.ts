/**
 * The Runner's client of the Connector Gateway: the built-in runtime's ToolCall component calls
 * `invokeTool` (MCP tools: `callMcpTool`) through the Connector Gateway's generated client
 * (generated/clients/connector-gateway) on the service-client wrapper, with the Runner's service
 * token (a 401 renews it once) and the run's request id, instance and run ids. Both are writes with
 * one attempt: the Connector Gateway owns the retry rule (read 3×, write never), so a retry at this
 * hop could repeat a write. Canonical errors are rethrown with their code; the gateway unreachable
 * (or no service token) is 503 DEPENDENCY_UNAVAILABLE; the caller's abort passes through as the
 * transport's `aborted` TransportError. The answer is the tool's `output`.
 */
import { Configuration, MCPApi, ToolsApi } from '../../generated/clients/connector-gateway';
import type { TokenSource } from '../auth/token-source';
import { createServiceClient, type ClientConfig, type GeneratedResponse, type Operation, ServiceCallError } from '../platform/service-client';
import { createHttpClient, TransportError, type HttpClient } from '../platform/service-client/http-json';
import { inSpan } from '../platform/tracing';
import { AppError, statusOf } from '../platform/errors';
import type { ToolCallContext, ToolInvoker } from '../runtime/types';

const toolsApi = (c: ClientConfig) => new ToolsApi(new Configuration(c));
const mcpApi = (c: ClientConfig) => new MCPApi(new Configuration(c));

export function connectorGatewayToolInvoker(o: { baseUrl: () => string; tokens: TokenSource; http?: HttpClient; timeoutMs?: number }): ToolInvoker {
  const service = createServiceClient({ baseUrl: o.baseUrl, http: o.http ?? createHttpClient({ maxSockets: 32 }), tokens: o.tokens });
  // The gateway may spend 4 attempts of up to 15 s on a read tool.
  const policy = { attempts: 1, baseDelayMs: 0, timeoutMs: o.timeoutMs ?? 65_000, retryStatus: new Set<number>() };

  /** One call (a span of the run's trace: its traceparent takes the connector gateway's spans along). */
  function call<A, T>(operationId: string, api: (c: ClientConfig) => A, send: (api: A) => Promise<GeneratedResponse<T>>, ctx: ToolCallContext, tool: string): Promise<T> {
    const op: Operation = { operationId, kind: 'write', credential: { kind: 'service' }, policy };
    return inSpan('runner', 'tool', { 'agentstore.tool': tool }, async () => {
      try {
        return (await service.call(api, send, op, { requestId: ctx.requestId, signal: ctx.signal })).body;
      } catch (err) {
        throw toolError(err, tool);
      }
    });
  }

  const runIdOf = (ctx: ToolCallContext) => (/^run_[A-Za-z0-9]{8,40}$/.test(ctx.scope.runId) ? { runId: ctx.scope.runId } : {});
  return {
    async invoke(tool, bindingId, input, ctx) {
      const r = await call('invokeTool', toolsApi, (a) => a.invokeToolRaw({ toolInvokeRequest: { instanceId: ctx.scope.instanceId, tool, bindingId, input, ...runIdOf(ctx) } }), ctx, tool);
      return r?.output ?? {};
    },
    async callMcp(server, tool, args, ctx) {
      const r = await call('callMcpTool', mcpApi, (a) => a.callMcpToolRaw({ mcpToolCallRequest: { instanceId: ctx.scope.instanceId, server, tool, arguments: args, runId: ctx.scope.runId } }), ctx, tool);
      return { content: r.content, isError: r.isError, ...(r.structuredContent ? { structuredContent: r.structuredContent } : {}) };
    },
  };
}

/** What a failed call means to the tool's caller. */
function toolError(err: unknown, tool: string): unknown {
  if (!(err instanceof ServiceCallError)) return err;
  if (err.kind === 'aborted') return err.extra.cause instanceof TransportError ? err.extra.cause : new TransportError('aborted', 'request aborted', { cause: err });
  if (err.kind === 'answer') {
    if (err.code) return new AppError(err.code, err.message, err.extra.details, { status: statusOf[err.code] ?? err.status });
    return new AppError('DEPENDENCY_UNAVAILABLE', `The Connector Gateway answered ${err.status}`, { tool }, { cause: err });
  }
  return new AppError('DEPENDENCY_UNAVAILABLE', 'The Connector Gateway is unreachable', { tool }, { cause: err });
}
