/**
 * A local server answering in RAGFlow's HTTP shape (EXTERNAL-CONTRACTS "RAGFlow HTTP API"):
 * `{code:0, data}` envelopes, `{code:<n>, message}` failures (on HTTP 200, as Ragflow does),
 * Bearer API key, datasets, multipart uploads, parse + `run`/`progress` polling, retrieval.
 * Documents finish parsing after `parsePolls` status reads; `mode` scripts outages.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRagflow {
  url: string;
  apiKey: string;
  requests: { method: string; path: string; auth?: string; body?: unknown }[];
  datasets: Map<string, { name: string; docs: Map<string, { name: string; text: string; run: string; polls: number }> }>;
  /** `ok`; `code_error` answers `{code: 102}` on HTTP 200; `hang` never answers; `http_500`. */
  mode: 'ok' | 'code_error' | 'hang' | 'http_500';
  parsePolls: number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The files of a multipart/form-data body: name and bytes. */
function multipartFiles(body: Buffer, contentType: string): { filename: string; bytes: Buffer }[] {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!boundary) return [];
  const sep = `--${boundary[1] ?? boundary[2]}`;
  const files: { filename: string; bytes: Buffer }[] = [];
  for (const part of body.toString('latin1').split(sep).slice(1)) {
    if (part.startsWith('--')) break;
    const end = part.indexOf('\r\n\r\n');
    const head = part.slice(0, end);
    const name = /name="([^"]+)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (name !== 'file' || filename === undefined) continue;
    files.push({ filename, bytes: Buffer.from(part.slice(end + 4, part.length - 2), 'latin1') });
  }
  return files;
}

export async function startFakeRagflow(apiKey = 'ragflow-test-key'): Promise<FakeRagflow> {
  let seq = 0;
  const id = () => `${(++seq).toString(16).padStart(32, '0')}`;
  const fake: FakeRagflow = {
    url: '',
    apiKey,
    requests: [],
    datasets: new Map(),
    mode: 'ok',
    parsePolls: 2,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const ct = String(req.headers['content-type'] ?? '');
    const body = ct.startsWith('application/json') && raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
    fake.requests.push({ method: req.method!, path: url.pathname + url.search, auth: req.headers.authorization, body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (fake.mode === 'hang') return; // never answers
    if (fake.mode === 'http_500') return send(500, { code: 100, message: 'internal error' });
    if (req.headers.authorization !== `Bearer ${apiKey}`) return send(200, { code: 109, message: 'Authentication error: API key is invalid!' });
    if (fake.mode === 'code_error') return send(200, { code: 102, message: 'scripted failure' });

    const m = url.pathname.match(/^\/api\/v1\/datasets(?:\/([^/]+)\/(documents|chunks))?$/);
    if (m && !m[1] && req.method === 'POST') {
      if (!body?.name) return send(200, { code: 101, message: 'name is required' });
      for (const d of fake.datasets.values()) if (d.name === body.name) return send(200, { code: 102, message: 'Duplicated dataset name' });
      const dsId = id();
      fake.datasets.set(dsId, { name: body.name, docs: new Map() });
      return send(200, { code: 0, data: { id: dsId, name: body.name, chunk_method: body.chunk_method, permission: body.permission } });
    }
    if (m && !m[1] && req.method === 'GET') {
      const only = url.searchParams.get('id');
      const data = [...fake.datasets.entries()].filter(([k]) => !only || k === only).map(([k, d]) => ({ id: k, name: d.name }));
      if (only && data.length === 0) return send(200, { code: 102, message: "You don't own the dataset." });
      return send(200, { code: 0, data });
    }
    const ds = m?.[1] ? fake.datasets.get(m[1]) : undefined;
    if (m?.[1] && !ds) return send(200, { code: 102, message: "You don't own the dataset." });
    if (ds && m![2] === 'documents' && req.method === 'POST') {
      const files = multipartFiles(raw, ct);
      if (!files.length) return send(200, { code: 101, message: 'No file part!' });
      const data = files.map((f) => {
        const docId = id();
        ds.docs.set(docId, { name: f.filename, text: f.bytes.toString('utf8'), run: 'UNSTART', polls: 0 });
        return { id: docId, name: f.filename, run: 'UNSTART', dataset_id: m![1], size: f.bytes.length };
      });
      return send(200, { code: 0, data });
    }
    if (ds && m![2] === 'chunks' && req.method === 'POST') {
      for (const d of body?.document_ids ?? []) {
        const doc = ds.docs.get(d);
        if (!doc) return send(200, { code: 102, message: `Document not found: ${d}` });
        doc.run = 'RUNNING';
      }
      return send(200, { code: 0 });
    }
    if (ds && m![2] === 'documents' && req.method === 'GET') {
      const docId = url.searchParams.get('id');
      const docs = [...ds.docs.entries()].filter(([k]) => !docId || k === docId).map(([k, d]) => {
        if (d.run === 'RUNNING' && ++d.polls >= fake.parsePolls) d.run = 'DONE';
        return { id: k, name: d.name, run: d.run, progress: d.run === 'DONE' ? 1 : d.polls / fake.parsePolls / 2, chunk_count: d.run === 'DONE' ? 1 : 0, dataset_id: m![1] };
      });
      return send(200, { code: 0, data: { docs, total: docs.length } });
    }
    if (url.pathname === '/api/v1/retrieval' && req.method === 'POST') {
      const words = String(body?.question ?? '').toLowerCase().split(/\W+/).filter((w) => w.length > 3);
      const chunks = [];
      for (const dsId of body?.dataset_ids ?? []) {
        const d = fake.datasets.get(dsId);
        if (!d) return send(200, { code: 102, message: "You don't own the dataset." });
        for (const [docId, doc] of d.docs) {
          if (doc.run !== 'DONE') continue;
          const hits = words.filter((w) => doc.text.toLowerCase().includes(w)).length;
          const similarity = words.length ? hits / words.length : 0;
          if (similarity > 0 && similarity >= (body.similarity_threshold ?? 0.2)) {
            chunks.push({ id: id(), content: doc.text, document_id: docId, document_keyword: doc.name, dataset_id: dsId, similarity, vector_similarity: similarity, term_similarity: similarity, highlight: '', important_keywords: [], image_id: '', positions: [] });
          }
        }
      }
      chunks.sort((a, b) => b.similarity - a.similarity);
      return send(200, { code: 0, data: { chunks: chunks.slice(0, body?.page_size ?? 30), doc_aggs: [], total: chunks.length } });
    }
    send(404, { code: 404, message: 'Not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
