/**
 * The Runner's `KnowledgeRetriever`: the built-in runtime's retriever node calls the Control
 * Plane's `queryKnowledgeBase` for each knowledge base of the run, with the Runner's own service
 * token (src/auth/token-source.ts) and the run's `instanceId` — the Control Plane derives org and
 * project from that instance (policy/services.cedar, `via`), so a KB outside the run's project answers 404
 * and its chunks never reach the run. Transport: the keep-alive JSON client the gateway uses
 * (src/gateway/http-json.ts); the gateway's CP client itself covers only the gateway's calls.
 *
 * Outcomes: chunks of all KBs merged best first (top `topK`); a 401 drops the cached token and
 * retries once; the Control Plane unreachable, timing out (12 s: its own Ragflow limit is 10 s)
 * or answering 5xx → AppError RAG_UNAVAILABLE; other canonical errors keep their code.
 */
import type { ErrorCode, RagQueryResult } from '../../generated/control-plane/types';
import type { Identity } from '../auth/identity';
import { clientCredentialsTokenSource, devIssuerTokenSource, type TokenSource } from '../auth/token-source';
import { createHttpClient, TransportError, type HttpClient } from '../gateway/http-json';
import type { Config } from '../platform/config';
import { AppError, statusOf } from '../platform/errors';
import type { KnowledgeChunk, KnowledgeRetriever, RetrievalScope } from '../runtime/types';

export interface ControlPlaneRetrieverOptions {
  controlPlaneUrl: () => string;
  tokens: TokenSource;
  http?: HttpClient;
  timeoutMs?: number;
}

/** The Runner's service token: the dev issuer's, or Keycloak client credentials (RUNNER_CLIENT_ID/SECRET). */
export function runnerTokenSource(config: Config, identity: Identity): TokenSource | undefined {
  if (identity.devIssuer) return devIssuerTokenSource(identity.devIssuer, { service: 'runner', audience: config.oidc.audience });
  const { clientId, clientSecret } = config.runner;
  if (!clientSecret) return undefined;
  return clientCredentialsTokenSource({ issuer: identity.issuer, clientId, clientSecret });
}

const unavailable = (why: string, cause?: unknown) => new AppError('RAG_UNAVAILABLE', 'Knowledge-base retrieval is unavailable', { reason: why }, { cause });

export function controlPlaneRetriever(o: ControlPlaneRetrieverOptions): KnowledgeRetriever {
  const http = o.http ?? createHttpClient({ maxSockets: 64 });
  const timeoutMs = o.timeoutMs ?? 12_000;

  async function queryOne(kbId: string, question: string, scope: RetrievalScope): Promise<RagQueryResult> {
    for (let attempt = 0; ; attempt++) {
      const token = await o.tokens.token().catch((err) => {
        throw unavailable('no service token', err);
      });
      let res;
      try {
        res = await http.json<RagQueryResult & { error?: { code: ErrorCode; message: string; details?: Record<string, unknown> } }>(
          'POST',
          `${o.controlPlaneUrl().replace(/\/+$/, '')}/rag/knowledge-bases/${encodeURIComponent(kbId)}/query`,
          {
            headers: { authorization: `Bearer ${token}`, ...(scope.requestId ? { 'x-request-id': scope.requestId } : {}) },
            body: { question: question.slice(0, 4000), topK: Math.min(50, Math.max(1, scope.topK)), instanceId: scope.instanceId },
            timeoutMs,
            signal: scope.signal,
          },
        );
      } catch (err) {
        if (err instanceof TransportError && err.kind === 'aborted') throw err;
        throw unavailable(err instanceof TransportError ? err.kind : 'network', err);
      }
      if (res.status === 200 && res.body) return res.body;
      if (res.status === 401 && attempt === 0) {
        o.tokens.invalidate();
        continue;
      }
      const e = res.body?.error;
      if (res.status >= 500 || !e) throw unavailable(`status_${res.status}`);
      throw new AppError(e.code, e.message, e.details, { status: statusOf[e.code] ?? res.status });
    }
  }

  return {
    async retrieve(query, scope) {
      if (!scope.instanceId) throw new AppError('RAG_UNAVAILABLE', 'Knowledge-base retrieval needs the run\'s instance');
      const results = await Promise.all(scope.kbIds.map((kb) => queryOne(kb, query, scope)));
      const chunks: KnowledgeChunk[] = results.flatMap((r) =>
        r.chunks.map((c) => ({ title: c.documentTitle ?? c.documentId, content: c.content, id: c.id, knowledgeBaseId: r.kbId, documentId: c.documentId, score: c.similarity })),
      );
      return chunks.sort((a, b) => (b.score ?? 0) - (a.score ?? 0)).slice(0, scope.topK);
    },
  };
}
