/**
 * The Runner's `KnowledgeRetriever`: the built-in runtime's retriever node calls the Control
 * Plane's `queryKnowledgeBase` for each knowledge base of the run, with the Runner's own service
 * token (src/auth/token-source.ts) and the run's `instanceId` — the Control Plane derives org and
 * project from that instance (policy/services.cedar, `via`), so a KB outside the run's project answers 404
 * and its chunks never reach the run. The call goes through the Control Plane's generated client
 * (`queryKnowledgeBase`, generated/clients/control-plane) on the service-client wrapper and the
 * keep-alive transport the gateway uses.
 *
 * Outcomes: chunks of all KBs merged best first (top `topK`); a 401 drops the cached token and
 * retries once; the Control Plane unreachable, timing out (12 s: its own Ragflow limit is 10 s)
 * or answering 5xx → AppError RAG_UNAVAILABLE; other canonical errors keep their code.
 */
import { Configuration, RAGApi } from '../../generated/clients/control-plane';
import type { RagQueryResult } from '../../generated/control-plane/types';
import type { Identity } from '../auth/identity';
import { clientCredentialsTokenSource, devIssuerTokenSource, type TokenSource } from '../auth/token-source';
import { createHttpClient, TransportError, type HttpClient } from '../platform/service-client/http-json';
import type { Config } from '../platform/config';
import { AppError, statusOf } from '../platform/errors';
import { createServiceClient, ServiceCallError, type ClientConfig } from '../platform/service-client';
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

const ragApi = (c: ClientConfig) => new RAGApi(new Configuration(c));

const unavailable = (why: string, cause?: unknown) => new AppError('RAG_UNAVAILABLE', 'Knowledge-base retrieval is unavailable', { reason: why }, { cause });

export function controlPlaneRetriever(o: ControlPlaneRetrieverOptions): KnowledgeRetriever {
  const http = o.http ?? createHttpClient({ maxSockets: 64 });
  const timeoutMs = o.timeoutMs ?? 12_000;

  const service = createServiceClient({ baseUrl: o.controlPlaneUrl, http, tokens: o.tokens });
  // A query is a read: no retry here beyond the token refresh (the run's deadline is short).
  const policy = { attempts: 1, baseDelayMs: 0, timeoutMs, retryStatus: new Set<number>() };

  async function queryOne(kbId: string, question: string, scope: RetrievalScope): Promise<RagQueryResult> {
    try {
      const res = await service.call(
        ragApi,
        (a) => a.queryKnowledgeBaseRaw({ kbId, ragQueryRequest: { question: question.slice(0, 4000), topK: Math.min(50, Math.max(1, scope.topK)), instanceId: scope.instanceId } }),
        { operationId: 'queryKnowledgeBase', kind: 'read', credential: { kind: 'service' }, policy },
        { requestId: scope.requestId, signal: scope.signal },
      );
      if (res.status === 200 && res.body) return res.body as RagQueryResult;
      throw unavailable(`status_${res.status}`);
    } catch (err) {
      if (!(err instanceof ServiceCallError)) throw err;
      if (err.kind === 'aborted') throw err.cause instanceof TransportError ? err.cause : new TransportError('aborted', 'request aborted', { cause: err });
      if (err.kind === 'credential') throw unavailable('no service token', err);
      if (err.kind === 'transport') throw unavailable(err.extra.transport ?? 'network', err);
      if ((err.status ?? 500) >= 500 || !err.code) throw unavailable(`status_${err.status}`, err);
      throw new AppError(err.code, err.message, err.extra.details, { status: statusOf[err.code] ?? err.status });
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
