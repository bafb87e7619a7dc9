/** The Ragflow adapter against a local server answering in Ragflow's shape (test/support/fake-ragflow.ts). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFakeRagflow, type FakeRagflow } from '../../test/support/fake-ragflow';
import { AppError } from '../platform/errors';
import { RagflowBackend, RagflowError } from './ragflow-backend';

let fake: FakeRagflow;
const scope = { orgId: 'org_TEST00000001', projectId: 'prj_TEST00000001' };
before(async () => {
  fake = await startFakeRagflow();
});
after(() => fake.close());

const backend = (o: Partial<ConstructorParameters<typeof RagflowBackend>[0]> = {}) => new RagflowBackend({ baseUrl: fake.url, apiKey: fake.apiKey, ...o });

async function rejectsUnavailable(p: Promise<unknown>, cause: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'RAG_UNAVAILABLE');
    assert.equal(err.status, 503);
    assert.match(String((err.cause as Error)?.message), cause);
    assert.doesNotMatch(err.message + JSON.stringify(err.details), /ragflow-test-key/);
    return true;
  });
}

test('create dataset → upload (multipart) → parse → poll run/progress → retrieve, with the Bearer key on every call', async () => {
  fake.mode = 'ok';
  const b = backend();
  const { datasetId } = await b.createDataset(scope, { kbId: 'kb_TEST00000001', name: 'Help center', chunkMethod: 'naive' });
  const created = fake.requests.at(-1)!;
  assert.equal(created.path, '/api/v1/datasets');
  assert.deepEqual({ name: (created.body as any).name, chunk_method: (created.body as any).chunk_method }, { name: 'kb_TEST00000001', chunk_method: 'naive' });
  await b.check(scope, datasetId);
  await rejectsUnavailable(b.check(scope, 'no-such-dataset'), /code 102/);
  const { jobId } = await b.ingest(scope, { datasetId, kbId: 'kb_TEST00000001', documentId: 'doc_1', fileName: 'policy.md', contentType: 'text/markdown', bytes: Buffer.from('The zephyr clause grants thirty days for returns.') });
  assert.equal(fake.datasets.get(datasetId)!.docs.get(jobId)!.text, 'The zephyr clause grants thirty days for returns.');
  assert.deepEqual(fake.requests.at(-1)!.body, { document_ids: [jobId] });
  const first = await b.jobStatus(scope, datasetId, jobId);
  assert.equal(first.status, 'running');
  assert.ok(first.progress >= 0 && first.progress < 1);
  const second = await b.jobStatus(scope, datasetId, jobId);
  assert.deepEqual(second, { status: 'done', progress: 1, chunkCount: 1 });
  assert.match(fake.requests.at(-1)!.path, new RegExp(`/api/v1/datasets/${datasetId}/documents\\?id=${jobId}`));
  const chunks = await b.retrieve(scope, 'What does the zephyr clause grant?', { datasetIds: [datasetId], topK: 3, similarityThreshold: 0.2 });
  assert.equal(chunks.length, 1);
  assert.equal(chunks[0]!.documentId, jobId);
  assert.equal(chunks[0]!.datasetId, datasetId);
  assert.ok(chunks[0]!.similarity > 0 && chunks[0]!.similarity <= 1);
  const q = fake.requests.at(-1)!;
  assert.equal(q.path, '/api/v1/retrieval');
  assert.deepEqual((q.body as any).dataset_ids, [datasetId]);
  assert.equal((q.body as any).page_size, 3);
  assert.ok(fake.requests.every((r) => r.auth === `Bearer ${fake.apiKey}`));
});

test('code != 0 on HTTP 200 is a failure: RAG_UNAVAILABLE with Ragflow\'s code in the cause, never the key', async () => {
  fake.mode = 'code_error';
  try {
    await rejectsUnavailable(backend().createDataset(scope, { kbId: 'kb_TEST00000002', name: 'x' }), /code 102 scripted failure/);
    await rejectsUnavailable(backend().retrieve(scope, 'anything here', { datasetIds: ['ds'], topK: 3, similarityThreshold: 0 }), /code 102/);
  } finally {
    fake.mode = 'ok';
  }
  const wrongKey = new RagflowBackend({ baseUrl: fake.url, apiKey: 'wrong' });
  await assert.rejects(wrongKey.createDataset(scope, { kbId: 'kb_TEST00000003', name: 'x' }), (err: any) => err.code === 'RAG_UNAVAILABLE' && err.cause instanceof RagflowError && err.cause.ragflowCode === 109);
  const dup = backend();
  await dup.createDataset(scope, { kbId: 'kb_TEST00000004', name: 'x' });
  await rejectsUnavailable(dup.createDataset(scope, { kbId: 'kb_TEST00000004', name: 'x' }), /Duplicated dataset name/);
});

test('HTTP 500, a hanging server (query timeout) and a refused connection are RAG_UNAVAILABLE', async () => {
  fake.mode = 'http_500';
  try {
    await rejectsUnavailable(backend().retrieve(scope, 'question words', { datasetIds: ['ds'], topK: 1, similarityThreshold: 0 }), /code 100/);
    fake.mode = 'hang';
    const started = Date.now();
    await rejectsUnavailable(backend({ queryTimeoutMs: 150 }).retrieve(scope, 'question words', { datasetIds: ['ds'], topK: 1, similarityThreshold: 0 }), /timed out/);
    assert.ok(Date.now() - started < 2000);
  } finally {
    fake.mode = 'ok';
  }
  const down = new RagflowBackend({ baseUrl: 'http://127.0.0.1:9', apiKey: 'k' });
  await rejectsUnavailable(down.createDataset(scope, { kbId: 'kb_TEST00000005', name: 'x' }), /unreachable/);
});

test('retrieval keeps only chunks of the datasets asked for, whatever the server answers', async () => {
  const b = backend();
  const a = await b.createDataset(scope, { kbId: 'kb_TEST00000006', name: 'a' });
  const other = await b.createDataset(scope, { kbId: 'kb_TEST00000007', name: 'b' });
  const { jobId } = await b.ingest(scope, { datasetId: other.datasetId, kbId: 'kb_TEST00000007', documentId: 'doc_2', fileName: 'o.txt', contentType: 'text/plain', bytes: Buffer.from('quokka protocol') });
  fake.datasets.get(other.datasetId)!.docs.get(jobId)!.run = 'DONE';
  // A misbehaving server answering another dataset's chunk for dataset `a`:
  const orig = fake.datasets.get(a.datasetId)!;
  orig.docs.set('foreign', { name: 'o.txt', text: 'quokka protocol', run: 'DONE', polls: 0 });
  const chunks = await new RagflowBackend({
    baseUrl: fake.url,
    apiKey: fake.apiKey,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      const body = (await res.json()) as any;
      if (body.data?.chunks) for (const c of body.data.chunks) c.dataset_id = other.datasetId;
      return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
    },
  }).retrieve(scope, 'quokka protocol', { datasetIds: [a.datasetId], topK: 5, similarityThreshold: 0 });
  assert.deepEqual(chunks, []);
});
