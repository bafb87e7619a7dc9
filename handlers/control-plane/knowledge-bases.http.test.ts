/**
 * RAG over HTTP (T7): two tenants each upload and ingest a document with a distinctive phrase;
 * each finds only its own chunks (user, project API key and Runner paths), the other tenant's KB
 * ids answer 404, a run of the demo RAG agent through the Gateway retrieves only its tenant's
 * document, ingestion goes queued → done, uploads are checked, and the Ragflow backend (a local
 * server in Ragflow's shape) works end to end and answers 503 RAG_UNAVAILABLE when down.
 * Every response is validated against the spec by the test stack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeRagflow, type FakeRagflow } from '../../test/support/fake-ragflow';
import { activeInstance, buyer, run, waitFor, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

const ANN_DOC = '# Returns\n\nThe zephyr clause grants every customer forty-two days to return an item.\n';
const BOB_DOC = '<html><body><h1>Security</h1><p>The quokka protocol rotates every badge at midnight.</p></body></html>';

async function createKb(stack: TestStack, who: { token?: string; apiKey?: string }, projectId: string, name = 'Docs') {
  return http('POST', `${stack.url('control-plane')}/rag/knowledge-bases`, { token: who.token, headers: who.apiKey ? { 'x-api-key': who.apiKey } : {}, body: { projectId, name } });
}

/** Ticket → PUT → ingest → wait for done; answers the 202 body and the final ingestion. */
async function uploadAndIngest(stack: TestStack, token: string, kbId: string, fileName: string, contentType: string, text: string) {
  const cp = stack.url('control-plane');
  const bytes = Buffer.from(text);
  const ticket = await http('POST', `${cp}/rag/knowledge-bases/${kbId}/uploads`, { token, body: { fileName, contentType, sizeBytes: bytes.length } });
  assert.equal(ticket.status, 201, JSON.stringify(ticket.body));
  const put = await fetch(ticket.body.url, { method: 'PUT', headers: ticket.body.headers, body: bytes });
  assert.ok(put.ok, `upload answered ${put.status}`);
  const queued = await http('POST', `${cp}/rag/knowledge-bases/${kbId}/documents`, { token, body: { uploadId: ticket.body.uploadId, title: fileName } });
  assert.equal(queued.status, 202, JSON.stringify(queued.body));
  const done = await waitFor('ingestion finished', async () => {
    const r = await http('GET', `${cp}/rag/ingestions/${queued.body.id}`, { token });
    return r.body.status === 'done' || r.body.status === 'failed' ? r.body : undefined;
  }, 15_000);
  return { ticket: ticket.body, queued: queued.body, done };
}

const query = (stack: TestStack, kbId: string, body: Record<string, unknown>, auth: { token?: string; apiKey?: string }) =>
  http('POST', `${stack.url('control-plane')}/rag/knowledge-bases/${kbId}/query`, { token: auth.token, headers: auth.apiKey ? { 'x-api-key': auth.apiKey } : {}, body });

describe('embedded backend (PostgreSQL full-text search)', () => {
  let stack: TestStack;
  let cp: string;
  let ann: Buyer;
  let bob: Buyer;
  let annKb: string;
  let bobKb: string;
  let annKey: string;
  let annIngestion: any;

  before(async () => {
    stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
    cp = stack.url('control-plane');
    ann = await buyer(stack, 'ann-rag@example.com');
    bob = await buyer(stack, 'bob-rag@example.com');
    annKey = (await http('POST', `${cp}/projects/${ann.projectId}/api-keys`, { token: ann.token, body: { name: 'rag' } })).body.secret;
  });
  after(async () => stack?.close());

  test('knowledge bases are created and listed per project; another tenant\'s project answers 404', async () => {
    const a = await createKb(stack, ann, ann.projectId, 'Ann help center');
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal(a.body.storagePrefix, `rag/${ann.orgId}/${ann.projectId}/${a.body.id}/`);
    assert.equal(a.body.documentCount, 0);
    annKb = a.body.id;
    const b = await createKb(stack, bob, bob.projectId, 'Bob runbooks');
    assert.equal(b.status, 201);
    bobKb = b.body.id;
    assert.equal((await createKb(stack, bob, ann.projectId)).status, 404);
    assert.equal((await createKb(stack, { apiKey: annKey }, bob.projectId)).status, 404);
    const viaKey = await createKb(stack, { apiKey: annKey }, ann.projectId, 'Made with a key');
    assert.equal(viaKey.status, 201, JSON.stringify(viaKey.body));
    const list = await http('GET', `${cp}/rag/knowledge-bases?projectId=${ann.projectId}&limit=1`, { token: ann.token });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items.map((k: any) => k.id), [annKb]);
    const page2 = await http('GET', `${cp}/rag/knowledge-bases?projectId=${ann.projectId}&limit=1&cursor=${list.body.nextCursor}`, { token: ann.token });
    assert.deepEqual(page2.body.items.map((k: any) => k.id), [viaKey.body.id]);
    assert.equal(page2.body.nextCursor, null);
    const foreignCursor = await http('GET', `${cp}/rag/knowledge-bases?projectId=${bob.projectId}&cursor=${list.body.nextCursor}`, { token: bob.token });
    assert.equal(foreignCursor.status, 400, 'a cursor is bound to its project');
    assert.equal((await http('GET', `${cp}/rag/knowledge-bases?projectId=${ann.projectId}`, { token: bob.token })).status, 404);
    assert.equal((await http('GET', `${cp}/rag/knowledge-bases?projectId=${bob.projectId}`, { headers: { 'x-api-key': annKey } })).status, 404);
  });

  test('upload tickets: per-project key, checked file name and size cap; other tenants\' KBs answer 404', async () => {
    const ok = await http('POST', `${cp}/rag/knowledge-bases/${annKb}/uploads`, { token: ann.token, body: { fileName: 'Returns policy.md', contentType: 'text/markdown', sizeBytes: 100 } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.objectKey, `rag/${ann.orgId}/${ann.projectId}/${annKb}/${ok.body.uploadId}/Returns_policy.md`);
    assert.equal(ok.body.method, 'PUT');
    assert.equal(ok.body.headers['Content-Type'] ?? ok.body.headers['content-type'], 'text/markdown');
    const big = await http('POST', `${cp}/rag/knowledge-bases/${annKb}/uploads`, { token: ann.token, body: { fileName: 'big.pdf', contentType: 'application/pdf', sizeBytes: 30 * 1024 * 1024 } });
    assert.equal(big.status, 422);
    const dots = await http('POST', `${cp}/rag/knowledge-bases/${annKb}/uploads`, { token: ann.token, body: { fileName: '..', contentType: 'text/plain', sizeBytes: 10 } });
    assert.equal(dots.status, 400);
    const slash = await http('POST', `${cp}/rag/knowledge-bases/${annKb}/uploads`, { token: ann.token, body: { fileName: '../x', contentType: 'text/plain', sizeBytes: 10 } });
    assert.equal(slash.status, 400);
    assert.equal((await http('POST', `${cp}/rag/knowledge-bases/${annKb}/uploads`, { token: bob.token, body: { fileName: 'a.txt', contentType: 'text/plain', sizeBytes: 10 } })).status, 404);
    // An upload that was never PUT cannot be ingested; another KB's upload id is not found here.
    const never = await http('POST', `${cp}/rag/knowledge-bases/${annKb}/documents`, { token: ann.token, body: { uploadId: ok.body.uploadId } });
    assert.equal(never.status, 422, JSON.stringify(never.body));
    assert.equal((await http('POST', `${cp}/rag/knowledge-bases/${bobKb}/documents`, { token: bob.token, body: { uploadId: ok.body.uploadId } })).status, 404);
  });

  test('T7: ingestion goes queued → done; each tenant finds only its own chunks; the other KB answers 404 (user, API key, runner)', async () => {
    const a = await uploadAndIngest(stack, ann.token, annKb, 'returns.md', 'text/markdown', ANN_DOC);
    assert.equal(a.queued.status, 'queued');
    assert.equal(a.queued.documentId, null);
    assert.equal(a.done.status, 'done', JSON.stringify(a.done));
    assert.equal(a.done.progress, 1);
    assert.ok(a.done.chunkCount >= 1 && a.done.pages >= 1);
    assert.match(a.done.documentId, /^doc_/);
    annIngestion = a.done;
    const b = await uploadAndIngest(stack, bob.token, bobKb, 'security.html', 'text/html', BOB_DOC);
    assert.equal(b.done.status, 'done', JSON.stringify(b.done));

    const kb = await http('GET', `${cp}/rag/knowledge-bases?projectId=${ann.projectId}`, { token: ann.token });
    assert.equal(kb.body.items.find((k: any) => k.id === annKb).documentCount, 1);

    const both = 'What do the zephyr clause and the quokka protocol say?';
    const mine = await query(stack, annKb, { question: both }, { token: ann.token });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.ok(mine.body.chunks.length >= 1);
    assert.ok(mine.body.chunks.every((c: any) => /zephyr/.test(c.content) && !/quokka/.test(c.content)), JSON.stringify(mine.body.chunks));
    assert.equal(mine.body.chunks[0].documentId, a.done.documentId);
    assert.equal(mine.body.chunks[0].documentTitle, 'returns.md');
    const theirs = await query(stack, bobKb, { question: both }, { token: bob.token });
    assert.ok(theirs.body.chunks.length >= 1 && theirs.body.chunks.every((c: any) => /quokka/.test(c.content) && !/zephyr/.test(c.content)));
    assert.doesNotMatch(theirs.body.chunks[0].content, /<p>|<h1>/, 'HTML was reduced to text');

    // The other tenant's KB id: 404 for users and API keys.
    assert.equal((await query(stack, bobKb, { question: both }, { token: ann.token })).status, 404);
    assert.equal((await query(stack, annKb, { question: both }, { token: bob.token })).status, 404);
    const byKey = await query(stack, annKb, { question: 'zephyr' }, { apiKey: annKey });
    assert.equal(byKey.status, 200);
    assert.equal(byKey.body.chunks.length, 1);
    assert.equal((await query(stack, bobKb, { question: 'quokka' }, { apiKey: annKey })).status, 404);
    // Ingestions of another tenant: 404.
    assert.equal((await http('GET', `${cp}/rag/ingestions/${annIngestion.id}`, { token: bob.token })).status, 404);
    assert.equal((await http('GET', `${cp}/rag/ingestions/${b.done.id}`, { headers: { 'x-api-key': annKey } })).status, 404);

    // The Runner: scoped by the run's instance.
    const runner = await stack.serviceToken('runner');
    const annInstance = await activeInstance(stack, ann, { slug: 'docs-knowledge-agent' });
    const r1 = await query(stack, annKb, { question: both, instanceId: annInstance }, { token: runner });
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.ok(r1.body.chunks.length >= 1 && r1.body.chunks.every((c: any) => !/quokka/.test(c.content)));
    assert.equal((await query(stack, bobKb, { question: both, instanceId: annInstance }, { token: runner })).status, 404);
    assert.equal((await query(stack, annKb, { question: both }, { token: runner })).status, 400, 'service callers must name the instance');
    assert.equal((await query(stack, annKb, { question: both, instanceId: 'inst_UNKNOWN000000000000' }, { token: runner })).status, 404);
    // Other services may not query at all.
    assert.equal((await query(stack, annKb, { question: both, instanceId: annInstance }, { token: await stack.serviceToken('gateway') })).status, 403);
  });

  test('ingestion is idempotent per key; a PDF the embedded store cannot parse fails with a reason', async () => {
    const ticket = await http('POST', `${cp}/rag/knowledge-bases/${annKb}/uploads`, { token: ann.token, body: { fileName: 'manual.pdf', contentType: 'application/pdf', sizeBytes: 9 } });
    await fetch(ticket.body.url, { method: 'PUT', headers: ticket.body.headers, body: '%PDF-1.7\n' });
    const send = () => http('POST', `${cp}/rag/knowledge-bases/${annKb}/documents`, { token: ann.token, headers: { 'idempotency-key': 'ingest-pdf-1' }, body: { uploadId: ticket.body.uploadId } });
    const first = await send();
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const again = await send();
    assert.equal(again.status, 202);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const failed = await waitFor('ingestion finished', async () => {
      const r = await http('GET', `${cp}/rag/ingestions/${first.body.id}`, { token: ann.token });
      return r.body.status === 'failed' || r.body.status === 'done' ? r.body : undefined;
    });
    assert.equal(failed.status, 'failed');
    assert.match(failed.error, /Ragflow backend/);
  });

  test('T7 through /v1/runs: the demo RAG agent retrieves its tenant\'s document and never the other\'s', async () => {
    const question = 'What do the zephyr clause and the quokka protocol say?';
    const annInstance = await activeInstance(stack, ann, { slug: 'docs-knowledge-agent', configOverrides: { rag_knowledgebase: { knowledgeBaseIds: [annKb] } } });
    const mine = await run(stack, { token: ann.token, instanceId: annInstance, text: question });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    const text = JSON.stringify(mine.body.output);
    assert.match(text, /zephyr clause grants/);
    assert.doesNotMatch(text, /quokka protocol rotates/);
    assert.equal(mine.body.usage.dimensions.retrievals, 1);

    // Bob's instance pointed at Ann's KB id: the Control Plane refuses the Runner (404), nothing leaks.
    const bobInstance = await activeInstance(stack, bob, { slug: 'docs-knowledge-agent', configOverrides: { rag_knowledgebase: { knowledgeBaseIds: [annKb] } } });
    const cross = await run(stack, { token: bob.token, instanceId: bobInstance, text: question });
    assert.doesNotMatch(JSON.stringify(cross.body), /zephyr clause grants/);
    assert.notEqual(cross.status, 200, JSON.stringify(cross.body));
    assert.equal(cross.body.error.details.code, 'NOT_FOUND', JSON.stringify(cross.body));
    assert.equal(cross.body.error.details.charged, false);
  });
});

describe('Ragflow backend (a local server in Ragflow\'s shape)', () => {
  let fake: FakeRagflow;
  let stack: TestStack;
  let ann: Buyer;
  let kbId: string;

  before(async () => {
    fake = await startFakeRagflow();
    stack = await startTestStack(['control-plane'], { RAGFLOW_URL: fake.url, RAGFLOW_API_KEY: fake.apiKey });
    ann = await buyer(stack, 'ann-ragflow@example.com');
  });
  after(async () => {
    await stack?.close();
    await fake?.close().catch(() => undefined);
  });

  test('KB → Ragflow dataset; upload → Ragflow document parsed and polled to done; query through /api/v1/retrieval', async () => {
    const kb = await createKb(stack, ann, ann.projectId, 'Via Ragflow');
    assert.equal(kb.status, 201, JSON.stringify(kb.body));
    kbId = kb.body.id;
    assert.equal(fake.datasets.size, 1);
    const { queued, done } = await uploadAndIngest(stack, ann.token, kbId, 'returns.md', 'text/markdown', ANN_DOC);
    assert.equal(queued.status, 'queued');
    assert.equal(done.status, 'done', JSON.stringify(done));
    assert.ok(fake.requests.some((r) => /\/documents\?id=/.test(r.path)), 'progress was polled');
    const q = await query(stack, kbId, { question: 'zephyr clause days' }, { token: ann.token });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assert.equal(q.body.chunks.length, 1);
    assert.equal(q.body.chunks[0].documentId, done.documentId, 'Ragflow\'s document id is mapped back to ours');
    assert.ok(fake.requests.every((r) => r.auth === `Bearer ${fake.apiKey}`));
  });

  test('Ragflow failing (code != 0) or down → 503 RAG_UNAVAILABLE; nothing is created', async () => {
    fake.mode = 'code_error';
    const q = await query(stack, kbId, { question: 'zephyr' }, { token: ann.token });
    assert.equal(q.status, 503);
    assert.equal(q.body.error.code, 'RAG_UNAVAILABLE');
    assert.doesNotMatch(JSON.stringify(q.body), new RegExp(fake.apiKey));
    fake.mode = 'ok';
    await fake.close();
    const down = await query(stack, kbId, { question: 'zephyr' }, { token: ann.token });
    assert.equal(down.status, 503);
    assert.equal(down.body.error.code, 'RAG_UNAVAILABLE');
    const ticket = await http('POST', `${stack.url('control-plane')}/rag/knowledge-bases/${kbId}/uploads`, { token: ann.token, body: { fileName: 'late.txt', contentType: 'text/plain', sizeBytes: 5 } });
    assert.equal(ticket.status, 201);
    await fetch(ticket.body.url, { method: 'PUT', headers: ticket.body.headers, body: 'hello' });
    const ingest = await http('POST', `${stack.url('control-plane')}/rag/knowledge-bases/${kbId}/documents`, { token: ann.token, body: { uploadId: ticket.body.uploadId } });
    assert.equal(ingest.status, 503, JSON.stringify(ingest.body));
    assert.equal(ingest.body.error.code, 'RAG_UNAVAILABLE');
    const create = await createKb(stack, ann, ann.projectId, 'Never made');
    assert.equal(create.status, 503);
    assert.equal(create.body.error.code, 'RAG_UNAVAILABLE');
    const list = await http('GET', `${stack.url('control-plane')}/rag/knowledge-bases?projectId=${ann.projectId}`, { token: ann.token });
    assert.deepEqual(list.body.items.map((k: any) => k.id), [kbId]);
  });
});
