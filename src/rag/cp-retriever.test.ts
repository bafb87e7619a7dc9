/** The Runner's retriever against a scripted Control Plane: credentials, scope, merge, failures. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { AppError } from '../platform/errors';
import { controlPlaneRetriever } from './cp-retriever';

let server: Server;
let url: string;
const seen: { path: string; auth?: string; requestId?: string; body: any }[] = [];
let script: (path: string, auth?: string) => { status: number; body: unknown } = () => ({ status: 500, body: {} });

before(async () => {
  server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    seen.push({ path: req.url!, auth: req.headers.authorization, requestId: req.headers['x-request-id'] as string | undefined, body: JSON.parse(Buffer.concat(parts).toString() || '{}') });
    const a = script(req.url!, req.headers.authorization);
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

/** Cached like the real TokenSource: the same token until invalidated. */
function tokens() {
  let n = 1;
  return {
    invalidated: 0,
    token: async () => `tok-${n}`,
    invalidate() {
      this.invalidated++;
      n++;
    },
  };
}
const scope = { orgId: 'org_1', projectId: 'prj_1', instanceId: 'inst_TEST00000001', kbIds: ['kb_A0000000', 'kb_B0000000'], topK: 2, requestId: 'req-rag-1' };
const chunk = (id: string, similarity: number) => ({ id, documentId: `doc_${id}`, documentTitle: `Doc ${id}`, content: `content ${id}`, similarity });

test('queries each KB with the service token, the run\'s instanceId and request id; merges best first up to topK', async () => {
  seen.length = 0;
  script = (path) => ({ status: 200, body: path.includes('kb_A') ? { kbId: 'kb_A0000000', chunks: [chunk('a1', 0.4), chunk('a2', 0.9)], total: 2, tookMs: 1 } : { kbId: 'kb_B0000000', chunks: [chunk('b1', 0.7)], total: 1, tookMs: 1 } });
  const r = controlPlaneRetriever({ controlPlaneUrl: () => url, tokens: tokens() });
  const chunks = await r.retrieve('what is it?', scope);
  assert.deepEqual(chunks.map((c) => c.id), ['a2', 'b1']);
  assert.deepEqual(chunks[0], { title: 'Doc a2', content: 'content a2', id: 'a2', knowledgeBaseId: 'kb_A0000000', documentId: 'doc_a2', score: 0.9 });
  assert.deepEqual(seen.map((s) => s.path).sort(), ['/rag/knowledge-bases/kb_A0000000/query', '/rag/knowledge-bases/kb_B0000000/query']);
  for (const s of seen) {
    assert.equal(s.auth, 'Bearer tok-1');
    assert.equal(s.requestId, 'req-rag-1');
    assert.deepEqual(s.body, { question: 'what is it?', topK: 2, instanceId: 'inst_TEST00000001' });
  }
});

test('a 401 drops the cached token and retries once with a fresh one', async () => {
  seen.length = 0;
  script = (_p, auth) => (auth === 'Bearer tok-1' ? { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'expired', traceId: 't' } } } : { status: 200, body: { kbId: 'kb_A0000000', chunks: [chunk('a1', 0.5)], total: 1, tookMs: 1 } });
  const t = tokens();
  const chunks = await controlPlaneRetriever({ controlPlaneUrl: () => url, tokens: t }).retrieve('q', { ...scope, kbIds: ['kb_A0000000'] });
  assert.equal(chunks.length, 1);
  assert.equal(t.invalidated, 1);
  assert.deepEqual(seen.map((s) => s.auth), ['Bearer tok-1', 'Bearer tok-2']);
});

test('a 404 keeps its code; 5xx, a refused connection and a missing instance are RAG_UNAVAILABLE', async () => {
  script = () => ({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'Knowledge base not found', traceId: 't' } } });
  const r = controlPlaneRetriever({ controlPlaneUrl: () => url, tokens: tokens() });
  await assert.rejects(r.retrieve('q', scope), (e: any) => e instanceof AppError && e.code === 'NOT_FOUND' && e.status === 404);
  script = () => ({ status: 503, body: { error: { code: 'RAG_UNAVAILABLE', message: 'down', traceId: 't' } } });
  await assert.rejects(r.retrieve('q', scope), (e: any) => e instanceof AppError && e.code === 'RAG_UNAVAILABLE' && e.status === 503);
  const down = controlPlaneRetriever({ controlPlaneUrl: () => 'http://127.0.0.1:9', tokens: tokens() });
  await assert.rejects(down.retrieve('q', scope), (e: any) => e instanceof AppError && e.code === 'RAG_UNAVAILABLE');
  await assert.rejects(r.retrieve('q', { ...scope, instanceId: undefined }), (e: any) => e instanceof AppError && e.code === 'RAG_UNAVAILABLE');
});
