/**
 * The Runner's client of the Connector Gateway: the built-in runtime's ToolCall component calls
 * `POST {CONN_BASE}/v1/tools/invoke` with the Runner's service token and the run's instance and
 * run ids. No retry here: the Connector Gateway owns the retry rule (read 3×, write never), so a
 * retry at this hop could repeat a write. Canonical errors are rethrown with their code; the
 * gateway unreachable is 503 DEPENDENCY_UNAVAILABLE. The answer is the tool's `output`.
 */
import type { ErrorCode } from '../../generated/shared/types';
import type { TokenSource } from '../auth/token-source';
import { createHttpClient, TransportError, type HttpClient } from '../gateway/http-json';
import { AppError, statusOf } from '../platform/errors';
import type { ToolInvoker } from '../runtime/types';

export function connectorGatewayToolInvoker(o: { baseUrl: () => string; tokens: TokenSource; http?: HttpClient; timeoutMs?: number }): ToolInvoker {
  const http = o.http ?? createHttpClient({ maxSockets: 32 });
  return {
    async invoke(tool, bindingId, input, ctx) {
      for (let attempt = 0; ; attempt++) {
        const token = await o.tokens.token();
        let res;
        try {
          res = await http.json<{ output?: Record<string, unknown>; error?: { code: ErrorCode; message: string; details?: Record<string, unknown> } }>(
            'POST',
            `${o.baseUrl().replace(/\/+$/, '')}/v1/tools/invoke`,
            {
              headers: { authorization: `Bearer ${token}`, ...(ctx.requestId ? { 'x-request-id': ctx.requestId } : {}) },
              body: { instanceId: ctx.scope.instanceId, tool, bindingId, input, ...(/^run_[A-Za-z0-9]{8,40}$/.test(ctx.scope.runId) ? { runId: ctx.scope.runId } : {}) },
              // The gateway may spend 4 attempts of up to 15 s on a read tool.
              timeoutMs: o.timeoutMs ?? 65_000,
              signal: ctx.signal,
            },
          );
        } catch (err) {
          if (err instanceof TransportError && err.kind === 'aborted') throw err;
          throw new AppError('DEPENDENCY_UNAVAILABLE', 'The Connector Gateway is unreachable', { tool }, { cause: err });
        }
        if (res.status === 200 && res.body) return res.body.output ?? {};
        if (res.status === 401 && attempt === 0) {
          o.tokens.invalidate();
          continue;
        }
        const e = res.body?.error;
        if (!e) throw new AppError('DEPENDENCY_UNAVAILABLE', `The Connector Gateway answered ${res.status}`, { tool });
        throw new AppError(e.code, e.message, e.details, { status: statusOf[e.code] ?? res.status });
      }
    },
  };
}
